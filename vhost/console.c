#define _GNU_SOURCE
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int console_open(struct console *c, const char *spec, size_t cap,
		 struct nf_err *e)
{
	struct stat st;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->peer = -1;
	c->cap = cap < 8192 ? 8192 : cap;
	if (!strcmp(spec, "none"))
		return 0;
	if (!strcmp(spec, "stdio")) {
		c->fd = STDOUT_FILENO;
	} else if (!strncmp(spec, "file:", 5)) {
		c->fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0644);
		if (c->fd < 0)
			return nf_errf(e, errno, "cannot open %s: %s", spec + 5,
				       strerror(errno));
		c->own = true;
	} else if (!strncmp(spec, "fd:", 3)) {
		char *end;
		long fd = strtol(spec + 3, &end, 10);
		if (end == spec + 3 || *end || fd < 0 || fd > 65535 ||
		    fcntl((int)fd, F_GETFL) < 0)
			return nf_errf(e, EBADF, "--console %s: not an open fd",
				       spec);
		c->fd = (int)fd;
		c->own = true;
	} else {
		return nf_errf(
			e, EINVAL,
			"--console takes stdio, file:PATH, fd:N or none");
	}
	if (fstat(c->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		c->capped = true;
		c->size = lseek(c->fd, 0, SEEK_END);
		if (c->size < 0)
			c->size = 0;
	}
	return 0;
}

/* Keeps the newest half of the cap: moved to the start, the rest cut. */
static void shrink(struct console *c)
{
	size_t keep = c->cap / 2;
	if ((off_t)keep > c->size)
		keep = (size_t)c->size;
	char *tail = malloc(keep ? keep : 1);
	ssize_t got =
		tail ? pread(c->fd, tail, keep, c->size - (off_t)keep) : -1;
	if (got == (ssize_t)keep &&
	    pwrite(c->fd, tail, keep, 0) == (ssize_t)keep &&
	    ftruncate(c->fd, (off_t)keep) == 0)
		c->size = (off_t)keep;
	else if (ftruncate(c->fd, 0) == 0) /* better nothing than no bound */
		c->size = 0;
	free(tail);
}

void console_flush(struct console *c)
{
	if (c->fd < 0 || !c->n)
		return;
	if (c->capped && (size_t)c->size + c->n > c->cap)
		shrink(c);
	ssize_t w = c->capped ? pwrite(c->fd, c->buf, c->n, c->size)
			      : write(c->fd, c->buf, c->n);
	if (w > 0)
		c->size += w;
	c->n = 0;
}

void console_flush_peer(struct console *c)
{
	if (c->peer >= 0 && c->pn)
		(void)!write(c->peer, c->pbuf, c->pn); /* non-blocking */
	c->pn = 0;
}

void console_put(struct console *c, uint8_t ch)
{
	if (c->peer >= 0) {
		c->pbuf[c->pn++] = (char)ch;
		if (ch == '\n' || c->pn == sizeof(c->pbuf))
			console_flush_peer(c);
	}
	if (c->fd < 0)
		return;
	c->buf[c->n++] = (char)ch;
	if (ch == '\n' || c->n == sizeof(c->buf))
		console_flush(c);
}

void console_close(struct console *c)
{
	console_flush(c);
	if (c->own && c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
