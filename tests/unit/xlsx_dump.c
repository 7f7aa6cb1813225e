/*
 * xlsx_dump.c: test and benchmark driver for xlsx.c (no database).
 *
 *	xlsx_dump [-c] [-r] [-t TMPDIR] DOC OUT
 *
 * Reads the stored result document in the file DOC (orient='table' JSON,
 * as df_json::text gives it) into one buffer and writes its XLSX (through
 * xlsx_write_tmp(), as the API does) or, with -c, its CSV
 * (result_to_csv()) to the file OUT; -r asks for raw cells.  One line on
 * stderr: "rows=N rows_cut=N cols_cut=N cells_cut=N bytes=N doc_kb=N
 * peak_kb=N us=N": what xlsx.h's stats say (zeros for CSV), the peak RSS
 * once the document was read (it is all resident then) and at the end, so
 * that peak_kb - doc_kb is what the conversion itself needed, and the
 * microseconds from the read document to the written OUT.  Exits 0, 64
 * (usage), 65 (not a result document), 66 (DOC unreadable), 70 (internal),
 * 73 (OUT not writable).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "csv.h"
#include "xlsx.h"

/* Returns the peak RSS of this program so far, in kB: VmHWM (getrusage's
 * ru_maxrss would include the parent's before exec), -1 if unknown. */
static long
peak_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char  line[256];
	long  kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* Returns a monotonic clock in microseconds. */
static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Reads the file path whole into *doc (one allocation of its size, the
 * caller frees); returns false when it cannot. */
static bool
read_doc(const char *path, char **doc, size_t *len)
{
	struct stat sb;
	size_t	    got = 0;
	ssize_t	    n;
	int	    fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	*len = (size_t)sb.st_size;
	*doc = xmalloc(*len + 1);
	while (got < *len && (n = read(fd, *doc + got, *len - got)) > 0)
		got += (size_t)n;
	close(fd);
	return got == *len;
}

/* Copies the open file fd to the file path; returns false on an error. */
static bool
copy_out(int fd, const char *path)
{
	char	b[65536];
	ssize_t n;
	FILE   *f = fopen(path, "wb");
	bool	ok;

	if (f == NULL)
		return false;
	while ((n = read(fd, b, sizeof(b))) > 0)
		if (fwrite(b, 1, (size_t)n, f) != (size_t)n)
			break;
	ok = n == 0;
	return fclose(f) == 0 && ok;
}

/* Writes the CSV of doc to path; returns an exit status. */
static int
csv_out(const char *doc, size_t len, bool raw, const char *path)
{
	struct buf out = BUF_INIT;
	FILE	  *f;
	int	   ex = 0;

	if (result_to_csv(doc, len, raw, &out) != PGS_OK)
		ex = 65;
	else if ((f = fopen(path, "wb")) == NULL)
		ex = 73;
	else if (fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0)
		ex = 73;
	buf_free(&out);
	return ex;
}

/* Writes the XLSX of doc to path; returns an exit status. */
static int
xlsx_out(const char *doc, size_t len, bool raw, const char *tmpdir,
    const char *path, struct xlsx_stats *st)
{
	enum pgs_rc rc;
	int	    fd, ex;

	rc = xlsx_write_tmp(doc, len, raw, tmpdir, &fd, st);
	if (rc != PGS_OK)
		return rc == PGS_INVALID ? 65 : 70;
	ex = copy_out(fd, path) ? 0 : 73;
	close(fd);
	return ex;
}

int
main(int argc, char **argv)
{
	struct xlsx_stats st;
	const char	 *tmpdir = NULL;
	char		 *doc = NULL;
	size_t		  len = 0;
	long long	  t0;
	long		  doc_kb;
	bool		  csv = false, raw = false;
	int		  c, ex;

	while ((c = getopt(argc, argv, "crt:")) != -1) {
		if (c == 'c')
			csv = true;
		else if (c == 'r')
			raw = true;
		else if (c == 't')
			tmpdir = optarg;
		else
			return 64;
	}
	if (argc - optind != 2) {
		fprintf(stderr,
		    "usage: xlsx_dump [-c] [-r] [-t TMPDIR] "
		    "DOC OUT\n");
		return 64;
	}
	if (!read_doc(argv[optind], &doc, &len)) {
		fprintf(stderr, "xlsx_dump: cannot read %s\n", argv[optind]);
		free(doc);
		return 66;
	}
	doc_kb = peak_kb();
	memset(&st, 0, sizeof(st));
	t0 = now_us();
	ex = csv ? csv_out(doc, len, raw, argv[optind + 1]) :
		   xlsx_out(doc, len, raw, tmpdir, argv[optind + 1], &st);
	t0 = now_us() - t0;
	fprintf(stderr,
	    "rows=%zu rows_cut=%zu cols_cut=%zu cells_cut=%zu "
	    "bytes=%zu doc_kb=%ld peak_kb=%ld us=%lld\n",
	    st.rows, st.rows_cut, st.cols_cut, st.cells_cut, st.bytes, doc_kb,
	    peak_kb(), t0);
	free(doc);
	return ex;
}
