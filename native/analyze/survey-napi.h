/* The survey's N-API helpers shared with the first-pass driver (survey-napi.c). */
#ifndef MIRRORLENS_SURVEY_NAPI_H
#define MIRRORLENS_SURVEY_NAPI_H

#include "survey.h"

/* Reads the survey options from a JS object and makes a survey: 0, -1 bad options, -2 out of memory. */
int ml_survey_opts_from(napi_env env, napi_value o, ml_survey_opts *opts, ml_survey **out);
/* { rows, fd, spilled, chunks, extra, a6, stats } (survey-napi.c); NULL when N-API failed. The spill file stays the survey's until ml_survey_release_spill. */
napi_value ml_survey_result(napi_env env, const ml_survey *s);

/* Registers firstPass (first-pass.c: reader -> survey on the threadpool). */
int ml_register_first_pass(napi_env env, napi_value exports);

#endif
