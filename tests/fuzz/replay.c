/* Replays a fuzz target's corpus without libFuzzer: each file of each
 * directory (or each file) named on the command line, cut to -max_len=N
 * bytes as libFuzzer would, is given to LLVMFuzzerTestOneInput once, and
 * so is the empty input. Linked into the sanitizer build (ASan, UBSan that
 * does not recover), so make check sees any crash, leak or undefined
 * behaviour an input ever caused, with the runtime the unit tests use.
 * Prints how many inputs it ran; exits 1 if one cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "../../lib/nf.h"

#define MAX_INPUT (16u << 20)

static size_t max_len = MAX_INPUT;
static unsigned ran;
static int failed;

static void run_file(const char *name, const char *path, void *ctx)
{
	(void)name, (void)ctx;
	struct nf_err e;
	char *data;
	size_t len;
	if (nf_read_path(path, MAX_INPUT, &data, &len, &e) < 0) {
		fprintf(stderr, "replay: %s\n", e.msg);
		failed = 1;
		return;
	}
	/* an exact-size copy: ASan sees a read one byte past the input */
	size_t use = len < max_len ? len : max_len;
	uint8_t *in = nf_xmalloc(use ? use : 1);
	memcpy(in, data, use);
	free(data);
	LLVMFuzzerTestOneInput(in, use);
	free(in);
	ran++;
}

int main(int argc, char **argv)
{
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	ran++;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (!strncmp(argv[i], "-max_len=", 9))
			max_len = strtoul(argv[i] + 9, NULL, 10);
		else if (argv[i][0] == '-')
			continue; /* libFuzzer's options (-dict=...) */
		else if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			nf_dir_each(argv[i], "", NULL, run_file, NULL);
		else
			run_file(argv[i], argv[i], NULL);
	}
	printf("replayed %u inputs\n", ran);
	return failed;
}
