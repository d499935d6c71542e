/* libFuzzer target: the network XML parser, formatter and the round trip.
 * Any input must be rejected cleanly or parse, format, and parse again to
 * the same text. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netxml *nx = NULL, *again = NULL;
	struct nf_err e;

	if (netxml_parse((const char *)data, size, "fuzz", &nx, &e) < 0)
		return 0;
	char *out = netxml_format(nx);
	if (netxml_parse(out, strlen(out), "reformat", &again, &e) < 0)
		abort(); /* our own output must parse */
	char *out2 = netxml_format(again);
	if (strcmp(out, out2))
		abort(); /* formatting must be a fixed point */
	netxml_fill_defaults(again, no_bridge, NULL, &e);
	free(out);
	free(out2);
	netxml_free(again);
	netxml_free(nx);
	return 0;
}
