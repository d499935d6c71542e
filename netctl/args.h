/* netctl's commands described once: what each takes (positional
 * arguments, flags, their values and what completes them) and what it is
 * for. One table drives argument checking, named arguments (virsh's
 * `--network NAME` beside `NAME`), `netctl help COMMAND`, the grouped
 * command list, "did you mean" and shell completion (`netctl complete`). */
#ifndef NETCTL_ARGS_H
#define NETCTL_ARGS_H

#include <stdbool.h>
#include <stdio.h>

/* what completes a value */
enum ctl_kind {
	CTL_TEXT,    /* nothing to offer */
	CTL_NETWORK, /* a network's name */
	CTL_PORT,    /* a port's name, TAP or UUID */
	CTL_LAB,     /* a lab's name */
	CTL_PF,	     /* an SR-IOV physical function */
	CTL_FILE,    /* a file */
	CTL_WORDS,   /* one of .choices */
	CTL_COMMAND, /* a switch after which the words (after an optional
			"--") are a command of its own, passed on as given */
};

struct ctl_arg {
	const char *name;    /* "NETWORK" (positional) or "--mac" (a flag) */
	const char *value;   /* a flag's value ("MAC"); NULL: a switch */
	enum ctl_kind kind;  /* what completes the value */
	const char *choices; /* CTL_WORDS: "add delete modify" */
	bool optional;	     /* a positional that may be left out */
	const char *help;
};
/* A last positional named "NAME..." takes any number more after it. */

#define CTL_MAX_ARGS 16

struct ctl_cmd {
	const char *name; /* "net-start", "lab up" */
	int (*fn)(int argc, char **argv);
	const char *group; /* "Networks", "Ports", ... */
	const char *help;
	struct ctl_arg args[CTL_MAX_ARGS];
};

struct ctl_table {
	const struct ctl_cmd *cmds;
	size_t n;
	const struct ctl_arg *globals; /* --socket, --json, ... */
	size_t nglobals;
};

/* The command argv[0] (and argv[1] for "lab up") names, or NULL; *words
 * is how many words its name took. */
const struct ctl_cmd *ctl_find(const struct ctl_table *t, int argc, char **argv,
			       int *words);
/* Checks argv (its first `words` words name c) against c's arguments
 * and writes them in c's order to out (positionals, then flags as
 * given): named arguments (--network N, --mac=M) become what the
 * command's own code reads. Returns 0; 1 after printing help (--help);
 * EX_USAGE after saying what is wrong. out holds argc + 1 pointers. */
int ctl_args_check(const struct ctl_cmd *c, int argc, char **argv, int words,
		   char **out, int *outc);
/* "netctl net-start NETWORK [--x X]" */
void ctl_synopsis(const struct ctl_cmd *c, FILE *f);
/* netctl help [COMMAND]: the grouped list, or one command in full. */
int ctl_help(const struct ctl_table *t, int argc, char **argv);
/* "unknown command": with the nearest command when one is near. */
int ctl_unknown(const struct ctl_table *t, int argc, char **argv);

/* Completion: the words are the command line up to the one being
 * completed (the last, maybe ""). Prints one candidate per line, or
 * "__files__ [EXT]" for a file name; list(kind) gives the names netd knows. */
typedef void (*ctl_lister)(enum ctl_kind kind, const char *prefix);
void ctl_complete(const struct ctl_table *t, int nwords, char **words,
		  ctl_lister list);

#endif
