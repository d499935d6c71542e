/* Shared benchmark helpers: median timing, a netctl run timed from spawn
 * to exit, and printing a row with its ratio to a baseline. */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H
#include <stddef.h>
#include <stdint.h>

double bench_median_ms(uint64_t *ns, size_t n);
/* Runs argv (stdout to /dev/null), returns nanoseconds; exits on failure. */
uint64_t bench_run(char *const argv[]);
void bench_row(const char *what, double ms, double base_ms);
/* One request to netd over fd (args consumed); exits on any failure.
 * *ns (if given) gets the round trip; fds/nfds receive handed-out fds. */
struct json_t;
struct json_t *bench_call(int fd, const char *cmd, struct json_t *args,
			  int *fds, size_t *nfds, uint64_t *ns);
#endif
