/* SPDX-License-Identifier: MIT */
/*
 * lasterror.c - the calling thread's detail for its latest failed call
 * (dtlsgate_last_error_message). It lives in C because a Go export runs on
 * the caller's thread but Go has no thread-local storage; one copy, here.
 */
#include "capi.h"

static _Thread_local char last_error[256];
/* The status a detail recorded during the current call was meant for, 0
 * once claimed: a call that fails with another status (a bad handle found
 * after a refused input) gets that status's own text. */
static _Thread_local int pending_status;

void capi_set_last_error(const char *msg, size_t len, int status)
{
    if (len >= sizeof last_error)
        len = sizeof last_error - 1;
    if (len > 0)
        memcpy(last_error, msg, len);
    last_error[len] = 0;
    pending_status = status;
}

void capi_last_error_status(int status, capi_static_string *generic)
{
    if (pending_status != status)
        snprintf(last_error, sizeof last_error, "%s", generic);
    pending_status = 0;
}

capi_static_string *capi_last_error(void) { return last_error; }
