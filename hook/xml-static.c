/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xml-static.c — lets migtune-hook link libxml2 statically without ICU.
 *
 * The hook sits on libvirtd's synchronous path for every domain operation, so its exec cost
 * matters.  Debian's libxml2 is built with ICU, and linking it dynamically maps ICU and libstdc++
 * into every run: about three times the cost of exec'ing /bin/true, against little more than one
 * time for the hook's own work (bench-hook measures both).  libxml2 calls ICU only to open
 * character-set converters, after glibc's iconv has been tried; libvirt writes UTF-8, which
 * libxml2 handles natively.  These definitions satisfy libxml2's references to the ICU converter
 * API and report every converter as unavailable, so no ICU code or data is linked.
 *
 * Built only when hook/module.mk links libxml2.a (HOOK_STATIC_XML=yes and the archive exists).
 */
#include <stddef.h>

#include <unicode/ucnv.h> /* maps the names below to ICU's versioned symbols (ucnv_open_72...) */

UConverter *ucnv_open(const char *name, UErrorCode *err)
{
	if (err)
		*err = U_FILE_ACCESS_ERROR; /* "converter not found", as ICU says for unknown names */
	return NULL;
}

void ucnv_close(UConverter *cnv)
{
}

void ucnv_setToUCallBack(UConverter *cnv, UConverterToUCallback action, const void *context,
			 UConverterToUCallback *old_action, const void **old_context, UErrorCode *err)
{
	if (err)
		*err = U_UNSUPPORTED_ERROR;
}

void ucnv_setFromUCallBack(UConverter *cnv, UConverterFromUCallback action, const void *context,
			   UConverterFromUCallback *old_action, const void **old_context,
			   UErrorCode *err)
{
	if (err)
		*err = U_UNSUPPORTED_ERROR;
}

void ucnv_convertEx(UConverter *target_cnv, UConverter *source_cnv, char **target,
		    const char *target_limit, const char **source, const char *source_limit,
		    UChar *pivot_start, UChar **pivot_source, UChar **pivot_target,
		    const UChar *pivot_limit, UBool reset, UBool flush, UErrorCode *err)
{
	if (err)
		*err = U_UNSUPPORTED_ERROR;
}

void UCNV_TO_U_CALLBACK_STOP(const void *context, UConverterToUnicodeArgs *args,
			     const char *code_units, int32_t length, UConverterCallbackReason reason,
			     UErrorCode *err)
{
}

void UCNV_FROM_U_CALLBACK_STOP(const void *context, UConverterFromUnicodeArgs *args,
			       const UChar *code_units, int32_t length, UChar32 code_point,
			       UConverterCallbackReason reason, UErrorCode *err)
{
}
