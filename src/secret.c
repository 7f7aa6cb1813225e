/*
 * secret.c: sealed boxes for data-source credentials and the key files
 * they need.  Key material read from disk passes through stack buffers
 * that are wiped before returning.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "b64.h"
#include "secret.h"

#define VAR_PUBLIC   "PUBLIC_KEY_B64_PATH"
#define VAR_PRIVATE  "APP_PRIVATE_KEY_B64_PATH"
#define KEYFILE_MAX  1024 /* a key file is 45 bytes; more is wrong */
#define KEY_B64_SIZE 48	  /* b64_encoded_size(32, B64_STD) is 45 */
#define MSG_OPEN_FAILED \
	"credential unavailable: wrong key or corrupted ciphertext"

static void
    PGS_PRINTF(3, 4) set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

enum pgs_rc
secret_init(void)
{
	if (sodium_init() < 0)
		return PGS_INTERNAL;
	return PGS_OK;
}

/* Reads a whole small regular file into buf; *len gets its size. */
static enum pgs_rc
read_small_file(const char *var, const char *path, char *buf, size_t cap,
    size_t *len, mode_t *mode, char *err, size_t errlen)
{
	struct stat st;
	ssize_t	    n;
	int	    fd;

	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		set_err(err, errlen, "%s: %s: %s", var, path, strerror(errno));
		return errno == ENOENT ? PGS_NOTFOUND : PGS_INTERNAL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: %s: not a regular file", var, path);
		close(fd);
		return PGS_INVALID;
	}
	*mode = st.st_mode;
	while (*len < cap) {
		n = read(fd, buf + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			set_err(err, errlen, "%s: %s: %s", var, path,
			    strerror(errno));
			close(fd);
			return PGS_INTERNAL;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	return PGS_OK;
}

/* Loads the base64 key in path into key; *mode gets the file's mode. */
static enum pgs_rc
load_key(const char *var, const char *path, unsigned char *key, mode_t *mode,
    char *err, size_t errlen)
{
	char	      text[KEYFILE_MAX + 1];
	unsigned char bin[SECRET_KEY_BYTES + 1];
	size_t	      len, binlen;
	enum pgs_rc   rc;

	rc = read_small_file(var, path, text, sizeof(text), &len, mode, err,
	    errlen);
	if (rc != PGS_OK)
		goto out;
	len = b64_trim_len(text, len);
	if (len == 0) {
		set_err(err, errlen,
		    "%s: %s: empty file, expected a base64 "
		    "32-byte key",
		    var, path);
		rc = PGS_INVALID;
		goto out;
	}
	/* bin has room for 33 bytes so that a longer key is told apart. */
	rc = b64_decode(text, len, bin, sizeof(bin), &binlen, B64_STD);
	if (rc != PGS_OK || binlen != SECRET_KEY_BYTES) {
		set_err(err, errlen, "%s: %s: not a base64 32-byte key", var,
		    path);
		rc = PGS_INVALID;
		goto out;
	}
	memcpy(key, bin, SECRET_KEY_BYTES);
out:
	sodium_memzero(text, sizeof(text));
	sodium_memzero(bin, sizeof(bin));
	return rc;
}

enum pgs_rc
secret_load_public(const char *path, unsigned char pk[SECRET_KEY_BYTES],
    char *err, size_t errlen)
{
	mode_t mode;

	return load_key(VAR_PUBLIC, path, pk, &mode, err, errlen);
}

enum pgs_rc
secret_load_private(const char *path, unsigned char sk[SECRET_KEY_BYTES],
    unsigned char pk[SECRET_KEY_BYTES], bool *too_open, char *err,
    size_t errlen)
{
	mode_t	    mode = 0;
	enum pgs_rc rc;

	*too_open = false;
	rc = load_key(VAR_PRIVATE, path, sk, &mode, err, errlen);
	if (rc != PGS_OK)
		return rc;
	*too_open = (mode & (S_IRWXG | S_IRWXO)) != 0;
	if (crypto_scalarmult_base(pk, sk) != 0) {
		sodium_memzero(sk, SECRET_KEY_BYTES);
		set_err(err, errlen, "%s: %s: not a usable private key",
		    VAR_PRIVATE, path);
		return PGS_INVALID;
	}
	return PGS_OK;
}

unsigned char *
secret_sk_alloc(void)
{
	return sodium_malloc(SECRET_KEY_BYTES);
}

void
secret_sk_free(unsigned char *sk)
{
	if (sk != NULL)
		sodium_free(sk);
}

/*
 * Writes key as a base64 line to a new file "<path>.tmp-XXXXXXXX" with
 * the given mode (set at creation, so a private key is never readable by
 * others) and fsyncs it.  tmp (tmpcap bytes) receives the file's name.
 */
static enum pgs_rc
write_key_tmp(const char *path, const unsigned char *key, mode_t mode,
    char *tmp, size_t tmpcap, char *err, size_t errlen)
{
	char	    line[KEY_B64_SIZE + 1];
	size_t	    len;
	enum pgs_rc rc;
	int	    fd, n;

	n = snprintf(tmp, tmpcap, "%s.tmp-%08x", path, randombytes_random());
	if (n < 0 || (size_t)n >= tmpcap) {
		set_err(err, errlen, "%s: path too long", path);
		return PGS_INTERNAL;
	}
	rc = b64_encode(key, SECRET_KEY_BYTES, line, sizeof(line), B64_STD);
	if (rc != PGS_OK)
		return rc;
	len = strlen(line);
	line[len++] = '\n';
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = PGS_INTERNAL;
		goto out;
	}
	/* The umask may have removed bits from a public key's 0644. */
	if (fchmod(fd, mode) == -1 || write(fd, line, len) != (ssize_t)len ||
	    fsync(fd) == -1) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = PGS_INTERNAL;
	}
	if (close(fd) == -1 && rc == PGS_OK) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = PGS_INTERNAL;
	}
	if (rc != PGS_OK)
		unlink(tmp);
out:
	sodium_memzero(line, sizeof(line));
	return rc;
}

/* Moves tmp to path; without force, never over an existing file. */
static enum pgs_rc
install_tmp(const char *tmp, const char *path, bool force, char *err,
    size_t errlen)
{
	int r;

	if (force)
		r = rename(tmp, path);
	else {
		r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
		if (r == -1 && errno == EINVAL) {
			/* The file system lacks RENAME_NOREPLACE. */
			r = link(tmp, path);
			if (r == 0)
				unlink(tmp);
		}
	}
	if (r == 0)
		return PGS_OK;
	if (errno == EEXIST) {
		set_err(err, errlen,
		    "%s: already exists, not overwritten "
		    "(force replaces it)",
		    path);
		unlink(tmp);
		return PGS_CONFLICT;
	}
	set_err(err, errlen, "%s: %s", path, strerror(errno));
	unlink(tmp);
	return PGS_INTERNAL;
}

/* Makes the rename of path durable by fsyncing its directory. */
static enum pgs_rc
sync_dir_of(const char *path, char *err, size_t errlen)
{
	char	    dir[4096];
	const char *slash;
	int	    fd, r;

	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		set_err(err, errlen, "%s: %s", dir, strerror(errno));
		return PGS_INTERNAL;
	}
	r = fsync(fd);
	close(fd);
	if (r == -1) {
		set_err(err, errlen, "%s: %s", dir, strerror(errno));
		return PGS_INTERNAL;
	}
	return PGS_OK;
}

/* Returns PGS_CONFLICT (in err) when path exists. */
static enum pgs_rc
check_absent(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		set_err(err, errlen,
		    "%s: already exists, not overwritten "
		    "(force replaces it)",
		    path);
		return PGS_CONFLICT;
	}
	return PGS_OK;
}

enum pgs_rc
secret_keygen(const char *pub_path, const char *priv_path, bool force,
    char *err, size_t errlen)
{
	unsigned char pk[SECRET_KEY_BYTES], sk[SECRET_KEY_BYTES];
	char	      tpub[4096], tpriv[4096];
	enum pgs_rc   rc;

	tpub[0] = tpriv[0] = '\0';
	rc = secret_init();
	if (rc == PGS_OK && !force)
		rc = check_absent(priv_path, err, errlen);
	if (rc == PGS_OK && !force)
		rc = check_absent(pub_path, err, errlen);
	if (rc != PGS_OK)
		return rc;
	crypto_box_keypair(pk, sk);
	rc = write_key_tmp(priv_path, sk, 0600, tpriv, sizeof(tpriv), err,
	    errlen);
	if (rc != PGS_OK)
		goto out;
	rc = write_key_tmp(pub_path, pk, 0644, tpub, sizeof(tpub), err, errlen);
	if (rc != PGS_OK) {
		unlink(tpriv);
		goto out;
	}
	rc = install_tmp(tpriv, priv_path, force, err, errlen);
	if (rc != PGS_OK) {
		unlink(tpub);
		goto out;
	}
	rc = install_tmp(tpub, pub_path, force, err, errlen);
	if (rc != PGS_OK) {
		/* Do not leave a private key without its public half. */
		if (!force)
			unlink(priv_path);
		goto out;
	}
	rc = sync_dir_of(priv_path, err, errlen);
	if (rc == PGS_OK)
		rc = sync_dir_of(pub_path, err, errlen);
out:
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

enum pgs_rc
secret_seal(const unsigned char pk[SECRET_KEY_BYTES], const void *plain,
    size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
	*outlen = 0;
	if (len > SIZE_MAX - SECRET_SEAL_BYTES || cap < SECRET_SEALED_LEN(len))
		return PGS_INTERNAL;
	if (crypto_box_seal(out, plain, len, pk) != 0)
		return PGS_INTERNAL;
	*outlen = SECRET_SEALED_LEN(len);
	return PGS_OK;
}

enum pgs_rc
secret_open(const unsigned char pk[SECRET_KEY_BYTES],
    const unsigned char sk[SECRET_KEY_BYTES], const unsigned char *cipher,
    size_t len, char *out, size_t cap, size_t *outlen, char *err, size_t errlen)
{
	size_t plainlen;

	*outlen = 0;
	if (len < SECRET_SEAL_BYTES) {
		set_err(err, errlen, MSG_OPEN_FAILED);
		return PGS_INVALID;
	}
	plainlen = len - SECRET_SEAL_BYTES;
	if (cap == 0 || plainlen > cap - 1) {
		set_err(err, errlen,
		    "credential unavailable: ciphertext "
		    "longer than %zu bytes",
		    cap);
		return PGS_INVALID;
	}
	if (crypto_box_seal_open((unsigned char *)out, cipher, len, pk, sk) !=
	    0) {
		sodium_memzero(out, cap);
		set_err(err, errlen, MSG_OPEN_FAILED);
		return PGS_INVALID;
	}
	out[plainlen] = '\0';
	*outlen = plainlen;
	return PGS_OK;
}
