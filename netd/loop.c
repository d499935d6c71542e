#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/nf.h"

struct watch {
	int fd;
	loop_cb cb;
	loop_io_cb io;
	void *ctx;
	bool dead;
};

struct timer {
	uint64_t id, due_ns;
	loop_cb cb;
	void *ctx;
};

static int epfd = -1;
static bool stopping;
static struct watch **watches;
static size_t nwatches;
static struct timer *timers;
static size_t ntimers;
static uint64_t next_id = 1;

int loop_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd < 0 ? -errno : 0;
}

static int add_watch(int fd, uint32_t events, loop_cb cb, loop_io_cb io,
		     void *ctx)
{
	struct watch *w = nf_xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->cb = cb;
	w->io = io;
	w->ctx = ctx;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(w);
		return -errno;
	}
	NF_APPEND(watches, nwatches, w);
	return 0;
}

int loop_watch(int fd, loop_cb cb, void *ctx)
{
	return add_watch(fd, EPOLLIN, cb, NULL, ctx);
}

int loop_watch_io(int fd, uint32_t events, loop_io_cb cb, void *ctx)
{
	return add_watch(fd, events, NULL, cb, ctx);
}

int loop_events(int fd, uint32_t events)
{
	for (size_t i = 0; i < nwatches; i++)
		if (watches[i]->fd == fd && !watches[i]->dead) {
			struct epoll_event ev = {.events = events,
						 .data.ptr = watches[i]};
			return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0
				       ? -errno
				       : 0;
		}
	return -ENOENT;
}

void loop_unwatch(int fd)
{
	for (size_t i = 0; i < nwatches; i++)
		if (watches[i]->fd == fd && !watches[i]->dead) {
			epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
			/* freed after the current round: an event for it may
			 * still be pending in this epoll_wait batch */
			watches[i]->dead = true;
		}
}

int loop_watch_pid(pid_t pid, loop_cb cb, void *ctx)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	int r = loop_watch(fd, cb, ctx);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

void loop_unwatch_pid(int *pidfd)
{
	if (*pidfd < 0)
		return;
	loop_unwatch(*pidfd);
	close(*pidfd);
	*pidfd = -1;
}

uint64_t loop_after(unsigned ms, loop_cb cb, void *ctx)
{
	struct timer t = {next_id++, nf_now_ns() + (uint64_t)ms * 1000000, cb,
			  ctx};
	NF_APPEND(timers, ntimers, t);
	return t.id;
}

void loop_cancel(uint64_t id)
{
	for (size_t i = 0; i < ntimers; i++)
		if (timers[i].id == id) {
			timers[i] = timers[--ntimers];
			return;
		}
}

void loop_stop(void)
{
	stopping = true;
}

static int next_timeout(void)
{
	uint64_t now = nf_now_ns(), min = UINT64_MAX;
	for (size_t i = 0; i < ntimers; i++)
		if (timers[i].due_ns < min)
			min = timers[i].due_ns;
	if (min == UINT64_MAX)
		return -1;
	return min <= now ? 0 : (int)((min - now) / 1000000 + 1);
}

static void run_timers(void)
{
	uint64_t now = nf_now_ns();
	for (size_t i = 0; i < ntimers;) {
		if (timers[i].due_ns > now) {
			i++;
			continue;
		}
		struct timer t = timers[i];
		timers[i] = timers[--ntimers];
		t.cb(t.ctx); /* may add or cancel timers */
		i = 0;
	}
}

static void reap_dead(void)
{
	for (size_t i = 0; i < nwatches;)
		if (watches[i]->dead) {
			free(watches[i]);
			watches[i] = watches[--nwatches];
		} else {
			i++;
		}
}

void loop_run(void)
{
	struct epoll_event evs[64];
	while (!stopping) {
		/* what the answers just sent replaced goes now (nf.h) */
		nf_release_replaced();
		int n = epoll_wait(epfd, evs, 64, next_timeout());
		for (int i = 0; i < n && !stopping; i++) {
			struct watch *w = evs[i].data.ptr;
			if (w->dead)
				continue;
			if (w->io)
				w->io(w->ctx, evs[i].events);
			else
				w->cb(w->ctx);
		}
		reap_dead();
		run_timers();
	}
}
