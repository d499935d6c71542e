/* Compares two XML documents by meaning: same elements, attributes and
 * values; siblings of the same name keep their order, siblings of different
 * names may be ordered differently. Used by the conformance tests. */
#ifndef XMLCMP_H
#define XMLCMP_H
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

/* Returns true when equal; otherwise writes the first difference to why. */
bool xmlcmp_equal(xmlNodePtr a, xmlNodePtr b, char *why, size_t n);
bool xmlcmp_strings(const char *a, const char *b, char *why, size_t n);
#endif
