/* Argument checking, help, "did you mean" and completion from one table
 * of commands (args.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "args.h"
#include "../lib/nf.h"

#define NEAR 2 /* a suggestion at most this many edits away */

static bool is_flag(const struct ctl_arg *a)
{
	return a->name[0] == '-';
}

/* "NETWORK" -> "--network" */
static void named(const struct ctl_arg *a, char *out, size_t n)
{
	size_t k = 0;
	out[k++] = '-', out[k++] = '-';
	for (const char *s = a->name; *s && *s != '.' && k + 1 < n; s++)
		out[k++] = *s == '_' ? '-' : (char)tolower((unsigned char)*s);
	out[k] = 0;
}

static size_t nargs(const struct ctl_cmd *c)
{
	size_t n = 0;
	while (n < CTL_MAX_ARGS && c->args[n].name)
		n++;
	return n;
}

/* the flag (or named positional) tok is, with its value after '=' */
static const struct ctl_arg *match(const struct ctl_cmd *c, const char *tok,
				   const char **eq, bool *positional)
{
	size_t n = nargs(c), len = strcspn(tok, "=");
	*eq = tok[len] == '=' ? tok + len + 1 : NULL;
	for (size_t i = 0; i < n; i++)
		if (is_flag(&c->args[i]) && strlen(c->args[i].name) == len &&
		    !strncmp(c->args[i].name, tok, len)) {
			*positional = false;
			return &c->args[i];
		}
	for (size_t i = 0; i < n; i++) {
		char nm[64];
		if (is_flag(&c->args[i]))
			continue;
		named(&c->args[i], nm, sizeof(nm));
		if (strlen(nm) == len && !strncmp(nm, tok, len)) {
			*positional = true;
			return &c->args[i];
		}
	}
	return NULL;
}

const struct ctl_cmd *ctl_find(const struct ctl_table *t, int argc, char **argv,
			       int *words)
{
	for (size_t i = 0; i < t->n; i++) {
		const char *nm = t->cmds[i].name, *sp = strchr(nm, ' ');
		if (!sp && argc >= 1 && !strcmp(nm, argv[0])) {
			*words = 1;
			return &t->cmds[i];
		}
		if (sp && argc >= 2 &&
		    !strncmp(nm, argv[0], (size_t)(sp - nm)) &&
		    !argv[0][sp - nm] && !strcmp(sp + 1, argv[1])) {
			*words = 2;
			return &t->cmds[i];
		}
	}
	return NULL;
}

void ctl_synopsis(const struct ctl_cmd *c, FILE *f)
{
	fprintf(f, "netctl %s", c->name);
	for (size_t i = 0; i < nargs(c); i++) {
		const struct ctl_arg *a = &c->args[i];
		if (!is_flag(a))
			fprintf(f, a->optional ? " [%s]" : " %s", a->name);
		else if (a->value)
			fprintf(f, " [%s %s]", a->name, a->value);
		else
			fprintf(f, " [%s]", a->name);
	}
}

static int usage_error(const struct ctl_cmd *c, const char *fmt,
		       const char *what)
{
	fprintf(stderr, "netctl %s: ", c->name);
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\nusage: ");
	ctl_synopsis(c, stderr);
	fprintf(stderr, "\n'netctl help %s' explains each\n", c->name);
	return EX_USAGE;
}

/* an option c does not take: says which it takes, and the nearest */
static int unknown_flag(const struct ctl_cmd *c, const char *tok)
{
	const char *best = NULL;
	unsigned bd = NEAR + 1;
	size_t len = strcspn(tok, "=");
	char t[64];
	snprintf(t, sizeof(t), "%.*s", (int)(len < 63 ? len : 63), tok);
	for (size_t i = 0; i < nargs(c); i++) {
		unsigned d = nf_distance(t, c->args[i].name);
		if (is_flag(&c->args[i]) && d < bd)
			bd = d, best = c->args[i].name;
	}
	fprintf(stderr, "netctl %s: unknown option '%s'", c->name, t);
	if (best)
		fprintf(stderr, "; did you mean '%s'?", best);
	fprintf(stderr, "\nusage: ");
	ctl_synopsis(c, stderr);
	fprintf(stderr, "\n");
	return EX_USAGE;
}

static void arg_help(const struct ctl_cmd *c, FILE *f);

static bool many(const struct ctl_arg *a)
{
	size_t l = strlen(a->name);
	return l > 3 && !strcmp(a->name + l - 3, "...");
}

static int check(const struct ctl_cmd *c, int argc, char **argv, int words,
		 char **out, int *outc, char **flags, char **more)
{
	int nmore = 0;
	size_t n = nargs(c), npos = 0;
	const struct ctl_arg *pos[CTL_MAX_ARGS];
	char *given[CTL_MAX_ARGS] = {0};
	int nflags = 0;
	bool dashdash = false;
	for (size_t i = 0; i < n; i++)
		if (!is_flag(&c->args[i]))
			pos[npos++] = &c->args[i];
	for (int k = words; k < argc; k++) {
		char *tok = argv[k];
		const char *eq = NULL;
		bool positional = false;
		const struct ctl_arg *a = NULL;
		if (!dashdash && !strcmp(tok, "--")) {
			dashdash = true;
			continue;
		}
		if (!dashdash &&
		    (!strcmp(tok, "--help") || !strcmp(tok, "-h"))) {
			arg_help(c, stdout);
			return 1;
		}
		if (!dashdash && tok[0] == '-' && tok[1]) {
			a = match(c, tok, &eq, &positional);
			if (!a)
				return unknown_flag(c, tok);
		}
		char *val = tok;
		if (a && (positional || a->value)) {
			if (eq)
				val = (char *)eq;
			else if (k + 1 < argc)
				val = argv[++k];
			else
				return usage_error(c, "%s needs a value",
						   a->name);
		} else if (a && eq) {
			return usage_error(c, "%s takes no value", a->name);
		}
		if (a && a->kind == CTL_COMMAND) { /* the rest is a command of
						      its own */
			flags[nflags++] = (char *)a->name;
			if (k + 1 < argc && !strcmp(argv[k + 1], "--"))
				k++;
			if (k + 1 >= argc)
				return usage_error(c, "%s needs a command",
						   a->name);
			while (++k < argc)
				flags[nflags++] = argv[k];
			break;
		}
		if (a && !positional) { /* a flag, passed on as given */
			flags[nflags++] = (char *)a->name;
			if (a->value)
				flags[nflags++] = val;
			continue;
		}
		size_t slot = npos;
		for (size_t i = 0; i < npos; i++)
			if (a ? pos[i] == a : !given[i]) {
				slot = i;
				break;
			}
		if (slot == npos && !a && npos && many(pos[npos - 1])) {
			more[nmore++] = val;
			continue;
		}
		if (slot == npos)
			return usage_error(c, "unexpected argument '%s'", tok);
		if (given[slot])
			return usage_error(c, "%s given twice",
					   pos[slot]->name);
		given[slot] = val;
	}
	int m = 0;
	for (int k = 0; k < words; k++)
		out[m++] = argv[k];
	for (size_t i = 0; i < npos; i++) {
		if (!given[i] && !pos[i]->optional)
			return usage_error(c, "missing %s", pos[i]->name);
		if (given[i] && i && !given[i - 1])
			return usage_error(c,
					   "%s needs the arguments before it",
					   pos[i]->name);
		if (given[i])
			out[m++] = given[i];
	}
	for (int k = 0; k < nmore; k++)
		out[m++] = more[k];
	for (int k = 0; k < nflags; k++)
		out[m++] = flags[k];
	out[m] = NULL;
	*outc = m;
	return 0;
}

int ctl_args_check(const struct ctl_cmd *c, int argc, char **argv, int words,
		   char **out, int *outc)
{
	/* each token gives at most two flag words (--mac=M) */
	char **flags = calloc(2 * (size_t)argc + 1, sizeof(char *)),
	     **more = calloc((size_t)argc + 1, sizeof(char *));
	int rc = check(c, argc, argv, words, out, outc, flags, more);
	free(flags);
	free(more);
	return rc;
}

/* text from column `at` on, wrapped before column 80 */
static void wrap(FILE *f, int at, const char *text)
{
	int col = at;
	while (*text) {
		int len = 0, depth = 0; /* "[--mac MAC]" is one word */
		for (; text[len] && (depth || text[len] != ' '); len++)
			depth += (text[len] == '[') - (text[len] == ']');
		if (col > at && col + 1 + len >= 80) {
			fprintf(f, "\n%*s", at, "");
			col = at;
		} else if (col > at) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", len, text);
		col += len;
		text += len;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

static void arg_help(const struct ctl_cmd *c, FILE *f)
{
	char *syn = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&syn, &len);
	ctl_synopsis(c, m);
	fclose(m);
	fprintf(f, "usage: ");
	wrap(f, 14, syn); /* under the command's first argument */
	free(syn);
	fprintf(f, "\n  ");
	wrap(f, 2, c->help);
	fprintf(f, "\n");
	int w = 0;
	char col[CTL_MAX_ARGS][96];
	size_t n = nargs(c);
	for (size_t i = 0; i < n; i++) {
		const struct ctl_arg *a = &c->args[i];
		if (is_flag(a))
			snprintf(col[i], sizeof(col[i]), "%s%s%s", a->name,
				 a->value ? " " : "", a->value ? a->value : "");
		else
			snprintf(col[i], sizeof(col[i]), "%s", a->name);
		if ((int)strlen(col[i]) > w)
			w = (int)strlen(col[i]);
	}
	for (size_t i = 0; i < n; i++) {
		const struct ctl_arg *a = &c->args[i];
		char nm[64] = "", text[512];
		if (!is_flag(a))
			named(a, nm, sizeof(nm));
		snprintf(text, sizeof(text), "%s%s%s%s%s%s%s", a->help,
			 *nm ? " (or " : "", nm, *nm ? " " : "",
			 *nm ? a->name : "", *nm ? ")" : "",
			 a->kind == CTL_WORDS && a->choices ? ": " : "");
		if (a->kind == CTL_WORDS && a->choices)
			snprintf(text + strlen(text),
				 sizeof(text) - strlen(text), "%s", a->choices);
		fprintf(f, "  %-*s  ", w, col[i]);
		wrap(f, w + 4, text);
	}
	if (n)
		fprintf(f, "\n");
	fprintf(f, "  --json prints the result as JSON; netctl(1) has more.\n");
}

int ctl_help(const struct ctl_table *t, int argc, char **argv)
{
	int words;
	if (argc > 1) {
		const struct ctl_cmd *c =
			ctl_find(t, argc - 1, argv + 1, &words);
		if (!c)
			return ctl_unknown(t, argc - 1, argv + 1);
		arg_help(c, stdout);
		return 0;
	}
	printf("usage: netctl [--socket PATH] [--json] COMMAND [ARGS]\n");
	int w = 0;
	for (size_t i = 0; i < t->n; i++)
		if ((int)strlen(t->cmds[i].name) > w)
			w = (int)strlen(t->cmds[i].name);
	for (size_t i = 0; i < t->n; i++) {
		const struct ctl_cmd *c = &t->cmds[i];
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(t->cmds[k].group, c->group);
		if (seen)
			continue;
		printf("\n %s\n", c->group);
		for (size_t k = i; k < t->n; k++)
			if (!strcmp(t->cmds[k].group, c->group))
				printf("    %-*s  %s\n", w, t->cmds[k].name,
				       t->cmds[k].help);
	}
	printf("\n Options before COMMAND\n");
	for (size_t i = 0; i < t->nglobals; i++) {
		char col[64];
		const struct ctl_arg *a = &t->globals[i];
		snprintf(col, sizeof(col), "%s%s%s", a->name,
			 a->value ? " " : "", a->value ? a->value : "");
		printf("    %-*s  %s\n", w, col, a->help);
	}
	printf("\n'netctl help COMMAND' (or COMMAND --help) shows its "
	       "arguments. NETWORK is a\nname or a UUID. The socket is "
	       "$NETD_SOCKET, else /run/netd/netd.sock.\n");
	return 0;
}

/* the first word of command i ("lab" of "lab up"), when no command
 * before it starts with it */
static bool is_first(const struct ctl_table *t, size_t i, char *out, size_t n)
{
	const char *nm = t->cmds[i].name;
	size_t len = strcspn(nm, " ");
	snprintf(out, n, "%.*s", (int)len, nm);
	for (size_t k = 0; k < i; k++)
		if (!strncmp(t->cmds[k].name, nm, len) &&
		    (t->cmds[k].name[len] == ' ' || !t->cmds[k].name[len]))
			return false;
	return true;
}

/* the subcommands of group ("up down ..." of "lab"), into out */
static void subcommands(const struct ctl_table *t, const char *group, char *out,
			size_t n)
{
	size_t len = strlen(group), k = 0;
	out[0] = 0;
	for (size_t i = 0; i < t->n; i++) {
		const char *nm = t->cmds[i].name;
		if (!strncmp(nm, group, len) && nm[len] == ' ' && k < n)
			k += (size_t)snprintf(out + k, n - k, "%s%s",
					      k ? ", " : "", nm + len + 1);
	}
}

int ctl_unknown(const struct ctl_table *t, int argc, char **argv)
{
	const char *best = NULL;
	unsigned bd = NEAR + 1;
	char word[128], subs[512];
	subcommands(t, argv[0], subs, sizeof(subs));
	if (*subs && argc == 1) {
		fprintf(stderr, "netctl %s: which one? %s\n", argv[0], subs);
		return EX_USAGE;
	}
	/* "lab upp": the command is two words */
	snprintf(word, sizeof(word), "%s%s%s", argv[0], *subs ? " " : "",
		 *subs ? argv[1] : "");
	for (size_t i = 0; i < t->n; i++) {
		unsigned d = nf_distance(word, t->cmds[i].name);
		if (d < bd)
			bd = d, best = t->cmds[i].name;
	}
	fprintf(stderr, "netctl: unknown command '%s'", word);
	if (best)
		fprintf(stderr, "; did you mean '%s'?", best);
	if (*subs)
		fprintf(stderr, "\nnetctl %s takes: %s", argv[0], subs);
	fprintf(stderr, "\n'netctl help' lists the commands\n");
	return EX_USAGE;
}

/* ------------------------------------------------------- completion */

static void offer(const char *cand, const char *prefix)
{
	if (!strncmp(cand, prefix, strlen(prefix)))
		printf("%s\n", cand);
}

static void offer_value(const struct ctl_arg *a, const char *cur,
			ctl_lister list)
{
	if (a->kind == CTL_FILE) { /* choices: the extension, if any */
		printf("__files__%s%s\n", a->choices ? " " : "",
		       a->choices ? a->choices : "");
	} else if (a->kind == CTL_WORDS && a->choices) {
		char *s = strdup(a->choices), *save = NULL;
		for (char *w = strtok_r(s, " |", &save); w;
		     w = strtok_r(NULL, " |", &save))
			offer(w, cur);
		free(s);
	} else if (a->kind != CTL_TEXT) {
		list(a->kind, cur);
	}
}

/* the global option tok is, or NULL */
static const struct ctl_arg *global(const struct ctl_table *t, const char *tok)
{
	for (size_t i = 0; i < t->nglobals; i++)
		if (!strcmp(t->globals[i].name, tok))
			return &t->globals[i];
	return NULL;
}

static void complete_args(const struct ctl_cmd *c, int n, char **w,
			  ctl_lister list)
{
	const char *cur = w[n - 1];
	size_t na = nargs(c), npos = 0;
	bool used[CTL_MAX_ARGS] = {0};
	for (int k = 0; k < n - 1; k++) {
		const char *eq;
		bool positional;
		const struct ctl_arg *a =
			w[k][0] == '-' ? match(c, w[k], &eq, &positional)
				       : NULL;
		if (a) {
			used[a - c->args] = true;
			if ((positional || a->value) && !eq) {
				if (k + 1 == n - 1) {
					offer_value(a, cur, list);
					return;
				}
				k++;
			}
		} else if (w[k][0] != '-') {
			npos++;
		}
	}
	if (cur[0] == '-') {
		size_t p = 0;
		for (size_t i = 0; i < na; i++) {
			char nm[64];
			if (is_flag(&c->args[i])) {
				if (!used[i])
					offer(c->args[i].name, cur);
			} else if (p++ >= npos && !used[i]) {
				named(&c->args[i], nm, sizeof(nm));
				offer(nm, cur); /* --network for NETWORK */
			}
		}
		offer("--help", cur);
		return;
	}
	for (size_t i = 0; i < na; i++) {
		if (is_flag(&c->args[i]) || used[i])
			continue;
		if (npos-- == 0) {
			offer_value(&c->args[i], cur, list);
			return;
		}
	}
}

void ctl_complete(const struct ctl_table *t, int nwords, char **words,
		  ctl_lister list)
{
	int k = 1; /* words[0] is netctl itself */
	while (k < nwords - 1 && words[k][0] == '-') {
		const struct ctl_arg *g = global(t, words[k]);
		k += g && g->value ? 2 : 1;
	}
	if (k >= nwords)
		return;
	if (k == nwords - 1) { /* the command itself */
		const char *cur = words[k];
		if (cur[0] == '-')
			for (size_t i = 0; i < t->nglobals; i++)
				offer(t->globals[i].name, cur);
		else if (k > 1 && global(t, words[k - 1]) &&
			 global(t, words[k - 1])->value)
			offer_value(global(t, words[k - 1]), cur, list);
		else
			for (size_t i = 0; i < t->n; i++) {
				char first[64];
				if (!is_first(t, i, first, sizeof(first)))
					continue;
				offer(first, cur);
			}
		return;
	}
	int cw;
	const struct ctl_cmd *c = ctl_find(t, nwords - k - 1, words + k, &cw);
	if (!c && nwords - k == 2) { /* "lab <TAB>": its subcommands */
		for (size_t i = 0; i < t->n; i++) {
			const char *nm = t->cmds[i].name, *sp = strchr(nm, ' ');
			if (sp && !strncmp(nm, words[k], (size_t)(sp - nm)) &&
			    !words[k][sp - nm])
				offer(sp + 1, words[nwords - 1]);
		}
		return;
	}
	if (c)
		complete_args(c, nwords - k - cw, words + k + cw, list);
}
