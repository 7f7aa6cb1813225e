/*
 * fuzz_xlsx.c: libFuzzer target for xlsx.c on arbitrary bytes.  The input
 * goes to each typing rule (xlsx_number, xlsx_datetime, xlsx_text) and,
 * as a document, to xlsx_write_tmp().  Besides the sanitizers' findings
 * (the input is an exact-size copy, so a read past its end shows), it
 * aborts when an answer breaks xlsx.h's promises: a number cell that is
 * not finite, a date outside 1900-03-01..9999-12-31, text that is not
 * valid UTF-8 or longer than XLSX_MAX_CHARS, a return code other than
 * PGS_OK, PGS_INVALID (or PGS_INTERNAL, say a full disk), or a file that
 * is not a zip of st.bytes bytes.
 *
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE \
 *	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *	-iquote src fuzz/fuzz_xlsx.c src/xlsx.c src/csv.c src/resdoc.c \
 *	src/isotime.c src/utf8.c src/log.c src/buf.c src/arena.c \
 *	-lxlsxwriter -lcjson -lm -o fuzz_xlsx
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utf8.h"
#include "xlsx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what)
{
	fprintf(stderr, "xlsx: promise broken: %s\n", what);
	abort();
}

/* The typing rules on the bytes s (n of them). */
static void
rules(const char *s, size_t n)
{
	struct buf	  b = BUF_INIT;
	enum xlsx_datefmt fmt;
	double		  d;

	if (xlsx_number(s, n, &d) && !isfinite(d))
		broken("a number cell that is not finite");
	if (xlsx_datetime(s, n, &d, &fmt) &&
	    (d < 61 || d >= 2958466 || fmt >= XLSX_NDATEFMT))
		broken("a date cell outside Excel's dates");
	(void)xlsx_text(&b, s, n, (n & 1) != 0);
	if (!utf8_valid(b.data != NULL ? b.data : "", b.len) ||
	    memchr(b.data != NULL ? b.data : "", '\0', b.len) != NULL ||
	    b.len > 4 * XLSX_MAX_CHARS)
		broken("text cell not valid UTF-8 without NUL, or too long");
	buf_free(&b);
}

/* The bytes s (n of them) as a document. */
static void
document(const char *s, size_t n)
{
	struct xlsx_stats st;
	struct stat	  sb;
	enum pgs_rc	  rc;
	char		  pk[2];
	int		  fd;

	rc = xlsx_write_tmp(s, n, (n & 2) != 0, NULL, &fd, &st);
	if (rc != PGS_OK && rc != PGS_INVALID && rc != PGS_INTERNAL)
		broken("return code");
	if (rc != PGS_OK) {
		if (fd != -1)
			broken("fd on an error");
		return;
	}
	if (fstat(fd, &sb) != 0 || (size_t)sb.st_size != st.bytes ||
	    read(fd, pk, 2) != 2 || memcmp(pk, "PK", 2) != 0)
		broken("the file is not a zip of st.bytes bytes");
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	s = malloc(size > 0 ? size : 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	rules(s, size);
	document(s, size);
	free(s);
	return 0;
}
