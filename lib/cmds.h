/* Every request netd serves, in one table: its wire name and whether it
 * needs root or the admin group. netd dispatches by it, netctl and netvm
 * name their requests from it, so a command is spelled in one place. */
#ifndef CMDS_H
#define CMDS_H

#include <stdbool.h>

/* X(ID, "wire-name", admin) */
#define NF_COMMANDS(X)                                                         \
	X(VERSION, "version", false)                                           \
	X(EVENT_SUBSCRIBE, "event-subscribe", false)                           \
	X(NET_DEFINE, "net-define", true)                                      \
	X(NET_UNDEFINE, "net-undefine", true)                                  \
	X(NET_CREATE, "net-create", true)                                      \
	X(NET_START, "net-start", true)                                        \
	X(NET_DESTROY, "net-destroy", true)                                    \
	X(NET_AUTOSTART, "net-autostart", true)                                \
	X(NET_UPDATE, "net-update", true)                                      \
	X(NET_METADATA, "net-metadata", true)                                  \
	X(NET_LIST, "net-list", false)                                         \
	X(NET_INFO, "net-info", false)                                         \
	X(NET_DUMPXML, "net-dumpxml", false)                                   \
	X(NET_DHCP_LEASES, "net-dhcp-leases", false)                           \
	X(PORT_CREATE, "port-create", true)                                    \
	X(PORT_DELETE, "port-delete", true)                                    \
	X(PORT_LIST, "port-list", false)                                       \
	X(PORT_INFO, "port-info", false)                                       \
	X(LAB_UP, "lab-up", true)                                              \
	X(LAB_DOWN, "lab-down", true)                                          \
	X(LAB_STATUS, "lab-status", false)                                     \
	X(LAB_CONSOLE, "lab-console", true)                                    \
	X(SRIOV_LIST, "sriov-list", false)                                     \
	X(SRIOV_SET_NUMVFS, "sriov-set-numvfs", true)                          \
	X(DOCTOR, "doctor", false)

enum nf_cmd {
#define NF_CMD_ENUM(id, name, admin) NF_CMD_##id,
	NF_COMMANDS(NF_CMD_ENUM)
#undef NF_CMD_ENUM
		NF_CMD_COUNT
};

/* The wire name of c. */
const char *nf_cmd_name(enum nf_cmd c);
/* The command named so, or -1. */
int nf_cmd_find(const char *name);
/* It changes the host (or shows what only admins may see). */
bool nf_cmd_admin(enum nf_cmd c);

#endif
