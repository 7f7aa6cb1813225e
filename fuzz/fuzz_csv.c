/*
 * fuzz_csv.c: libFuzzer target for result_to_csv() on arbitrary bytes.
 * Besides the sanitizers' findings (the document is handed over without
 * a NUL terminator, so any read past its end shows), it aborts when an
 * answer breaks csv.h's promises: a return code other than PGS_OK or
 * PGS_INVALID, or a PGS_OK output that is not whole CRLF-ended records.
 *
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE \
 *	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *	-Isrc fuzz/fuzz_csv.c src/csv.c src/resdoc.c src/utf8.c src/buf.c src/arena.c \
 *	-o fuzz_csv
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf  out = BUF_INIT;
	char	   *doc;
	enum pgs_rc rc;

	/* An exact-size copy, so ASan sees a read one byte past the end. */
	doc = malloc(size > 0 ? size : 1);
	if (doc == NULL)
		return 0;
	memcpy(doc, data, size);
	/* Both ways of writing cells: raw for odd sizes. */
	rc = result_to_csv(doc, size, (size & 1) != 0, &out);
	if (rc != PGS_OK && rc != PGS_INVALID) {
		fprintf(stderr, "csv: rc %d\n", (int)rc);
		abort();
	}
	if (rc == PGS_OK &&
	    (out.len < 2 || memcmp(out.data + out.len - 2, "\r\n", 2) != 0)) {
		fprintf(stderr, "csv: output not CRLF-ended: %.200s\n",
		    out.data != NULL ? out.data : "(null)");
		abort();
	}
	buf_free(&out);
	free(doc);
	return 0;
}
