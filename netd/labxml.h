/* labxml: lab files. A lab is a name, networks (inline network XML, or
 * references to networks the host defines), guests and point-to-point
 * links, with defaults and counted groups so a hundred similar guests are
 * a few lines:
 *
 *   <lab name='3tier'>
 *     <defaults memory='16M' cpus='1'/>         kernel= initrd= cmdline=
 *                                               image= image-format=
 *     <network name='front'> ...as in <network>... </network>
 *     <network ref='default'/>
 *     <guest name='web' count='3'>              web1..web3
 *       <interface network='front' mac='52:54:00:10:00:11' ip='10.10.1.11'/>
 *     </guest>                                  MAC and IP count up too
 *     <link a='r1' b='db1' subnet='10.10.9.0/29'/>
 *   </lab>
 *
 * A guest with image= boots on a qcow2 overlay of that base image, its
 * own (GUEST.qcow2 in the lab's state dir), made when it starts and
 * removed at lab down unless the guest says keep='yes'; image-format=
 * (raw or qcow2) is read from the image's first bytes when not given.
 * cloud-init='yes' (or ssh-keys='FILE', user-data='FILE' or <ssh-key>
 * children, on <defaults> or the guest) gives the guest a NoCloud seed
 * disk: meta-data with its name and keys, network-config matching each
 * interface by MAC, user-data as given (lab_seed_*).
 * A guest without kernel= runs the probe guest; a lab network's bridge
 * has STP off unless its <bridge stp=...> says otherwise. Parsing expands
 * groups and links and checks everything that needs no host: every problem is
 * listed (one line each, with its line number), not only the first. */
#ifndef LABXML_H
#define LABXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/nf.h"
#include "../lib/nfaddr.h"
#include "netxml.h"

#define LAB_MAX_GUESTS 1000
#define LAB_MAX_IFS    4 /* the probe guest drives up to four NICs */

struct lab_if {
	char network[64];
	char mac[18];
	struct nf_addr ip; /* family 0: whatever DHCP gives */
	int line;
};

enum lab_image_format { LAB_IMAGE_DETECT, LAB_IMAGE_RAW, LAB_IMAGE_QCOW2 };

struct lab_guest {
	char name[48];
	char *kernel, *initrd, *cmdline; /* kernel NULL: the probe guest */
	char *image;			 /* the base of its disk, or NULL */
	enum lab_image_format image_format;
	bool keep; /* its overlay outlives lab down */
	/* a cloud-init NoCloud seed disk (label cidata), when ci_on: its
	 * authorized keys (<ssh-key>s, and the file ssh_keys names) and the
	 * user-data file passed through as it is */
	bool ci_on;
	char *ssh_keys, *user_data; /* paths the client opens, or NULL */
	char **keys;
	size_t nkeys;
	unsigned mem_mib, cpus;
	struct lab_if ifs[LAB_MAX_IFS];
	size_t nifs;
	int line;
};

struct lab_net {
	char name[64];
	struct netxml *nx; /* inline (and links): the network to create,
			      with the guests' pins as <host>s */
	char *base;	   /* nx as written, without the pins */
	bool ref;	   /* a network the host has */
	int line;
};

struct lab {
	char name[33];
	struct lab_net *nets;
	size_t nnets;
	struct lab_guest *guests;
	size_t nguests;
};

/* Parses and expands buf; relative kernel/initrd paths are taken from dir
 * (nothing is opened here: the client opens them, see lab_files).
 * On failure (-EINVAL) errs holds one line per problem; *out is still the
 * part that parsed (for checks against the host; free it), or NULL when
 * the XML itself is broken. */
int labxml_parse(const char *buf, size_t len, const char *what, const char *dir,
		 struct lab **out, struct nf_buf *errs);
void labxml_free(struct lab *l);
/* Just the lab's name (for `lab down FILE`, even of a broken file). */
int labxml_name(const char *buf, size_t len, char *out, size_t n);

/* The distinct kernel, initrd and image paths the guests name, in the
 * order the
 * client passes their fds (read-only); *out is malloc'd (the strings are
 * l's). */
size_t lab_files(const struct lab *l, const char ***out);
const struct lab_net *lab_net_find(const struct lab *l, const char *name);
const struct lab_guest *lab_guest_find(const struct lab *l, const char *name);
/* The <host .../> elements the lab adds to network `net` for its
 * guests' pinned addresses; *out is malloc'd strings. */
size_t lab_pins(const struct lab *l, const char *net, char ***out);
/* An authorized-keys line netd writes into a guest's seed: a key type,
 * base64 and an optional comment, printable ASCII, at most 8 KiB. */
bool lab_ssh_key_ok(const char *line);
#define LAB_SEED_FILE_MAX (512u << 10) /* user-data or ssh-keys, each */
/* The keys of an authorized-keys file's text (blank and '#' lines
 * skipped) appended to *keys; -EINVAL with the line in why when one is
 * not a key (nothing appended then). */
int lab_ssh_keys_parse(const char *text, char ***keys, size_t *n, char *why,
		       size_t whylen);
/* The seed's meta-data and network-config (YAML, every value quoted) for
 * guest g of lab l, with its keys and those of extra[0..nextra) (from
 * its ssh-keys file). */
void lab_seed_meta(const struct lab *l, const struct lab_guest *g,
		   char *const *extra, size_t nextra, struct nf_buf *out);
void lab_seed_network(const struct lab_guest *g, struct nf_buf *out);

/* Two guests run the same way (kernel, initrd, cmdline, image, memory,
 * CPUs, interfaces): a running guest is left alone when reconciling. */
bool lab_guest_same(const struct lab_guest *a, const struct lab_guest *b);

#endif
