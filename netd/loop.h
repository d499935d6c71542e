/* The daemon's event loop: fd watches and one-shot timers on one epoll. */
#ifndef LOOP_H
#define LOOP_H

#include <stdint.h>
#include <sys/types.h>

typedef void (*loop_cb)(void *ctx);

int loop_init(void);
/* Calls cb(ctx) whenever fd is readable, until loop_unwatch(fd). */
int loop_watch(int fd, loop_cb cb, void *ctx);
/* The same for the epoll events asked (EPOLLIN, EPOLLOUT); cb gets the
 * events that came. loop_events changes what is asked. */
typedef void (*loop_io_cb)(void *ctx, uint32_t events);
int loop_watch_io(int fd, uint32_t events, loop_io_cb cb, void *ctx);
int loop_events(int fd, uint32_t events);
void loop_unwatch(int fd);
/* Calls cb(ctx) when process pid ends (through a pidfd). Returns the
 * pidfd, for loop_unwatch_pid, or a negative errno (-ESRCH: it is gone
 * already; cb is not called). */
int loop_watch_pid(pid_t pid, loop_cb cb, void *ctx);
/* Stops watching *pidfd (if >= 0), closes it, sets it to -1. */
void loop_unwatch_pid(int *pidfd);
/* Calls cb(ctx) once after ms milliseconds; returns an id for cancel. */
uint64_t loop_after(unsigned ms, loop_cb cb, void *ctx);
void loop_cancel(uint64_t id);
/* Runs until loop_stop(). */
void loop_run(void);
void loop_stop(void);

#endif
