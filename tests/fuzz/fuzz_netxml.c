/* libFuzzer target: the network XML parser (strict and lax), formatter and
 * the round trip. Any input must be rejected cleanly or parse, format, and
 * parse again to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../netd/netxml.h"

static bool no_bridge(const char *name, void *ctx)
{
	(void)name;
	(void)ctx;
	return false;
}

/* Parses (lax or strict), formats, parses the output again the same way:
 * it must parse, and format to the same text. */
static void round_trip(const uint8_t *data, size_t size, unsigned flags)
{
	struct netxml *nx = NULL, *again = NULL;
	struct nf_err e;

	if (netxml_parse_flags((const char *)data, size, "fuzz", flags, &nx,
			       &e) < 0)
		return;
	char *out = netxml_format(nx);
	if (netxml_parse_flags(out, strlen(out), "reformat", flags, &again,
			       &e) < 0)
		abort(); /* our own output must parse */
	char *out2 = netxml_format(again);
	if (strcmp(out, out2))
		abort(); /* formatting must be a fixed point */
	netxml_fill_defaults(again, no_bridge, NULL, &e);
	struct netxml *dup = netxml_dup(again);
	netxml_free(dup);
	free(out);
	free(out2);
	netxml_free(again);
	netxml_free(nx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	round_trip(data, size, 0);
	round_trip(data, size, NETXML_LAX); /* what libvirt's parser takes */
	return 0;
}
