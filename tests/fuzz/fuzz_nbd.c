/* libFuzzer target for netvm's NBD client: the input is everything a
 * server sends - its greeting, its option replies, then the replies to
 * the requests a guest's disk makes (reads of 4 KiB into an exact-size
 * buffer, a write, a flush, a trim). The bytes sit in one end of a
 * socket pair whose sending side is shut after them, so the client reads
 * them and then EOF; ASan reports any write past the read buffer, and a
 * reply that does not fit must fail the request, never hang or crash. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "../../vhost/nbd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	struct nbd n;
	struct nf_err e;
	signal(SIGPIPE, SIG_IGN);
	if (size > 60000 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	int buf = 1 << 20; /* all of the input fits at once */
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[1], SHUT_WR);
	if (nbd_open(&n, sv[0], "disk0", &e) == 0) {
		uint8_t *page = malloc(4096);
		struct iovec v[2] = {{page, 1024}, {page + 1024, 3072}};
		for (int i = 0; i < 3; i++)
			nbd_io(&n, NBD_READ, 0, (uint64_t)i * 4096, 4096, v, 2);
		nbd_io(&n, NBD_WRITE, 0, 0, 4096, v, 2);
		nbd_io(&n, NBD_FLUSH, 0, 0, 0, NULL, 0);
		nbd_io(&n, NBD_TRIM, 0, 0, 4096, NULL, 0);
		free(page);
	}
	nbd_close(&n); /* closes sv[0], opened or not */
	close(sv[1]);
	return 0;
}
