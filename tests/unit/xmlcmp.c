#define _GNU_SOURCE
#include "xmlcmp.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>

static const char *trimmed(xmlNodePtr n, char *buf, size_t len)
{
	xmlChar *c = xmlNodeGetContent(n);
	const char *s = c ? (const char *)c : "";
	while (isspace((unsigned char)*s))
		s++;
	snprintf(buf, len, "%s", s);
	size_t l = strlen(buf);
	while (l && isspace((unsigned char)buf[l - 1]))
		buf[--l] = '\0';
	xmlFree(c);
	return buf;
}

static bool has_element_children(xmlNodePtr n)
{
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return true;
	return false;
}

static bool same_name(xmlNodePtr a, xmlNodePtr b)
{
	const char *na = a->ns ? (const char *)a->ns->href : "";
	const char *nb = b->ns ? (const char *)b->ns->href : "";
	return !strcmp((const char *)a->name, (const char *)b->name) &&
	       !strcmp(na, nb);
}

static size_t count_attrs(xmlNodePtr n)
{
	size_t k = 0;
	for (xmlAttrPtr a = n->properties; a; a = a->next)
		k++;
	return k;
}

bool xmlcmp_equal(xmlNodePtr a, xmlNodePtr b, char *why, size_t n)
{
	char ta[4096], tb[4096];

	if (!same_name(a, b)) {
		snprintf(why, n, "<%s> vs <%s>", a->name, b->name);
		return false;
	}
	if (count_attrs(a) != count_attrs(b)) {
		snprintf(why, n,
			 "<%s> (line %ld vs %ld): %zu vs %zu attributes",
			 a->name, xmlGetLineNo(a), xmlGetLineNo(b),
			 count_attrs(a), count_attrs(b));
		return false;
	}
	for (xmlAttrPtr x = a->properties; x; x = x->next) {
		xmlChar *va = xmlNodeListGetString(a->doc, x->children, 1);
		xmlChar *vb =
			xmlGetNsProp(b, x->name, x->ns ? x->ns->href : NULL);
		bool ok =
			vb && !strcmp((const char *)va ? (const char *)va : "",
				      (const char *)vb);
		if (!ok)
			snprintf(why, n, "<%s %s>: '%s' vs '%s'", a->name,
				 x->name, va ? (const char *)va : "",
				 vb ? (const char *)vb : "(absent)");
		xmlFree(va);
		xmlFree(vb);
		if (!ok)
			return false;
	}
	if (!has_element_children(a) && !has_element_children(b)) {
		trimmed(a, ta, sizeof(ta));
		trimmed(b, tb, sizeof(tb));
		if (strcmp(ta, tb)) {
			snprintf(why, n, "<%s> text '%s' vs '%s'", a->name, ta,
				 tb);
			return false;
		}
		return true;
	}
	/* every element child of a matches the next unused same-named child
	 * of b, and b has no extra */
	size_t na = 0, nb = 0;
	for (xmlNodePtr c = a->children; c; c = c->next)
		na += c->type == XML_ELEMENT_NODE;
	for (xmlNodePtr c = b->children; c; c = c->next)
		nb += c->type == XML_ELEMENT_NODE;
	if (na != nb) {
		snprintf(why, n, "<%s> (line %ld): %zu vs %zu child elements",
			 a->name, xmlGetLineNo(a), na, nb);
		return false;
	}
	for (xmlNodePtr c = a->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		/* index of c among same-named siblings */
		size_t idx = 0;
		for (xmlNodePtr p = a->children; p != c; p = p->next)
			idx += p->type == XML_ELEMENT_NODE && same_name(p, c);
		xmlNodePtr d = b->children;
		for (; d; d = d->next)
			if (d->type == XML_ELEMENT_NODE && same_name(d, c) &&
			    idx-- == 0)
				break;
		if (!d) {
			snprintf(why, n, "<%s> missing inside <%s>", c->name,
				 a->name);
			return false;
		}
		if (!xmlcmp_equal(c, d, why, n))
			return false;
	}
	return true;
}

bool xmlcmp_strings(const char *a, const char *b, char *why, size_t n)
{
	xmlDocPtr da = xmlReadMemory(a, (int)strlen(a), "a", NULL, 0);
	xmlDocPtr db = xmlReadMemory(b, (int)strlen(b), "b", NULL, 0);
	bool r = false;
	if (!da || !db)
		snprintf(why, n, "unparsable XML");
	else
		r = xmlcmp_equal(xmlDocGetRootElement(da),
				 xmlDocGetRootElement(db), why, n);
	xmlFreeDoc(da);
	xmlFreeDoc(db);
	return r;
}
