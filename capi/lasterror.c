/*
 * lasterror.c - the calling thread's detail for its latest failed call
 * (dtlsgate_last_error_message). It lives in C because a Go export runs on
 * the caller's thread but Go has no thread-local storage; one copy, here.
 */
#include "capi.h"

static _Thread_local char last_error[256];
/* Set while a detail recorded during the current call still has to be
 * claimed by the call's status (capi_last_error_status). */
static _Thread_local int detail_pending;

void capi_set_last_error(const char *msg, size_t len, int pending)
{
    if (len >= sizeof last_error)
        len = sizeof last_error - 1;
    memcpy(last_error, msg, len);
    last_error[len] = 0;
    detail_pending = pending;
}

void capi_last_error_status(capi_static_string *generic)
{
    if (!detail_pending)
        snprintf(last_error, sizeof last_error, "%s", generic);
    detail_pending = 0;
}

capi_static_string *capi_last_error(void) { return last_error; }
