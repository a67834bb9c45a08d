/*
 * jsonerr: a JSON parse error without the input's bytes (see jsonerr.h).
 */
#include <stdio.h>

#include "jsonerr.h"

/* The phrase of a code json_loadb() sets; none holds a byte of input. */
static const char *
phrase(enum json_error_code c)
{
	switch (c) {
	case json_error_out_of_memory:
		return "out of memory";
	case json_error_stack_overflow:
		return "nested too deeply";
	case json_error_invalid_utf8:
		return "invalid UTF-8";
	case json_error_premature_end_of_input:
		return "premature end of input";
	case json_error_end_of_input_expected:
		return "data after the value";
	case json_error_null_character:
		return "NUL character";
	case json_error_null_byte_in_key:
		return "NUL byte in an object key";
	case json_error_duplicate_key:
		return "duplicate object key";
	case json_error_numeric_overflow:
		return "number out of range";
	case json_error_invalid_syntax:
	default:
		return "invalid syntax";
	}
}

const char *
jsonerr_text(const json_error_t *e, char *buf, size_t len)
{
	if (len > 0)
		snprintf(buf, len, "%s at byte %d", phrase(json_error_code(e)),
		    e->position);
	return buf;
}
