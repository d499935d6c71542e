/* Host checks for `netctl doctor` (doctor.c). */
#ifndef DOCTOR_H
#define DOCTOR_H

#include "network.h"

/* An array of {check, status: ok|warning|error, detail, fix}. */
json_t *doctor_run(struct registry *r);

#endif
