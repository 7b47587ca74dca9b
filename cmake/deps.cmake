# Pinned third-party sources for -DEXPERITURE_BUNDLED_DEPS=ON: the one place that names them.
# Nothing here is copied into the repository. scripts/fetch-deps.sh puts the files into .deps-cache/
# (from Debian 12's source archive), or a user points EXPERITURE_DEPS_DIR at a folder holding them.
# Each dependency accepts the files listed for it (the first one found is used); every file is checked
# against its SHA-256 before use. scripts/fetch-deps.sh reads these lines too: keep one call a line.
#
# experiture_dep_file(NAME VERSION FILE SHA256 KIND)
#   KIND source-tree   the full SQLite source tree (its amalgamation is generated with tclsh)
#        amalgamation  sqlite3.c + sqlite3.h as shipped by sqlite.org (no tclsh needed)
#        mbedtls       an mbedTLS release tree (library/ and include/ are used)

# SQLite 3.40.1: Debian 12's upstream tarball (source package sqlite3 3.40.1-2+deb12u2), or
# sqlite.org's amalgamation of the same release.
experiture_dep_file(sqlite3 3.40.1 sqlite3_3.40.1.orig.tar.xz aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655 source-tree)
experiture_dep_file(sqlite3 3.40.1 sqlite-amalgamation-3400100.zip 49112cc7328392aa4e3e5dae0b2f6736d0153430143d21f69327788ff4efe734 amalgamation)

# mbedTLS 2.28.3 (LTS): Debian 12's upstream tarball (source package mbedtls 2.28.3-1), or the
# release archive of the tag mbedtls-2.28.3 from the Mbed-TLS project.
experiture_dep_file(mbedtls 2.28.3 mbedtls_2.28.3.orig.tar.gz 3b4953aa55a681e084d31892d9904cc5328d6b4958ea57b90ae4b4f94ae69a8d mbedtls)
experiture_dep_file(mbedtls 2.28.3 mbedtls-2.28.3.tar.gz 1a21008fc93e7bdce2cb40a8f2d7c7b4034d9160035382c29cf91af8f96f2cd9 mbedtls)
