#include "cmds.h"

#include <string.h>

static const struct {
	const char *name;
	bool admin;
} table[NF_CMD_COUNT] = {
#define NF_CMD_ROW(id, n, a) [NF_CMD_##id] = {n, a},
	NF_COMMANDS(NF_CMD_ROW)
#undef NF_CMD_ROW
};

const char *nf_cmd_name(enum nf_cmd c)
{
	return (unsigned)c < NF_CMD_COUNT ? table[c].name : "?";
}

int nf_cmd_find(const char *name)
{
	for (int i = 0; i < NF_CMD_COUNT; i++)
		if (!strcmp(table[i].name, name))
			return i;
	return -1;
}

bool nf_cmd_admin(enum nf_cmd c)
{
	return (unsigned)c < NF_CMD_COUNT && table[c].admin;
}
