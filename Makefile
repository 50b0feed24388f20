# The two commands a newcomer needs (see README): `make run` and `make test`.
# Everything they need is installed from Debian's packages and the npm lockfile.

SHELL := /bin/bash
# Native addons (better-sqlite3, pkcs11js) build from source: point node-gyp at the
# local Node headers so it never tries to download them (see docs/DEPENDENCIES.md).
export npm_config_nodedir := /usr
export npm_config_build_from_source := true
export npm_config_update_notifier := false

# The native addons (better-sqlite3, pkcs11js) compile at npm ci: node-gyp needs these before it.
APT_BUILD := python3 make g++
APT_RUNTIME := softhsm2 opensc libengine-pkcs11-openssl openssl ca-certificates postfix
# xmllint (libxml2-utils) is the tests' independent PRUEMDNA schema checker; the gateway validates in process.
APT_TEST := libxml2-utils xmlsec1 dovecot-pop3d socat chromium dosfstools util-linux
STAMP := node_modules/.stamp

.PHONY: run test deps test-deps build typecheck bench clean

run: deps build
	node bin/pruem.js demo

test: test-deps build
	./node_modules/.bin/tsc -p tsconfig.json --noEmit
	@# Node 20's test runner takes no glob: the files are listed here (one process each, one at a time:
	@# the integration tests start gateways, Postfix and Dovecot on loopback).
	node --import tsx --test --test-concurrency=1 $$(find test -name '*.test.ts' | sort)

bench: test-deps build
	node --import tsx test/bench/run.ts

deps: $(STAMP)/npm
	@bash scripts/apt-ensure.sh $(APT_RUNTIME)

test-deps: deps
	@bash scripts/apt-ensure.sh $(APT_TEST)

$(STAMP)/npm: package-lock.json
	@bash scripts/check-node.sh
	@bash scripts/apt-ensure.sh $(APT_BUILD)
	npm ci --no-audit --no-fund
	@mkdir -p $(STAMP) && touch $@

build: $(STAMP)/npm
	./node_modules/.bin/tsc -p tsconfig.build.json
	@# tsc copies no assets: the PRUEMDNA schema ships beside the code.
	cd appliance && find . \( -name '*.xsd' -o -name '*.mjs' \) -exec install -D -m 0644 {} ../dist/appliance/{} \;
	@# The auditors' verifier: the type-checked modules in appliance/audit/verify/ bundled into one
	@# dependency-free file (it replaces tsc's unbundled verify-audit.mjs).
	node --import tsx appliance/audit/verify/build.ts dist/appliance/audit/verify-audit.mjs
	node console/build.mjs
	@# The vehicle service serves its published WSDL and schemas (?wsdl, ?xsd=) from dist/docs/vehicles/ in a build.
	install -D -m 0644 -t dist/docs/vehicles docs/vehicles/*.xsd docs/vehicles/*.wsdl

clean:
	rm -rf dist node_modules

# The appliance disk image and its boot test under qemu (image/README.md). Both run as root.
.PHONY: image image-test
# Build machine packages for the image: debootstrap, GRUB (BIOS), veritysetup, sfdisk, qemu.
APT_IMAGE := debootstrap grub-pc-bin grub-common cryptsetup-bin fdisk qemu-system-x86 qemu-utils
image: build
	@bash scripts/apt-ensure.sh $(APT_IMAGE)
	bash image/build.sh

image-test: image
	set -o pipefail; bash test/image/boot.sh 2>&1 | tee var/image/last-test.log
