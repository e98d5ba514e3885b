/*
 * --shard auto: the shard number from the job-array index of the engine
 * that runs the process, and the scan id all shards share (docs/scale.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* A non-negative decimal environment value; -1 if unset, -2 if not a number. */
static long long env_num(pqt_getenv_fn get, const char *name)
{
    const char *v = get(name);
    char *end;
    if (v == NULL || v[0] == 0) {
        return -1;
    }
    long long n = strtoll(v, &end, 10);
    if (*end != 0 || n < 0 || n > 100000000) {
        return -2;
    }
    return n;
}

int pqt_store_scan_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 100) {
        return 0;
    }
    for (const char *p = id; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.' || *p == ':')) {
            return 0;
        }
    }
    return 1;
}

int pqt_store_shard_auto(const char *spec, pqt_getenv_fn get, pqt_store_shard *out, char *why,
                         size_t cap)
{
    long long count = 0;
    memset(out, 0, sizeof(*out));
    if (strcmp(spec, "auto") != 0) {
        char *end;
        if (strncmp(spec, "auto/", 5) != 0) {
            snprintf(why, cap, "expected auto or auto/N");
            return PQT_ERR_SYNTAX;
        }
        count = strtoll(spec + 5, &end, 10);
        if (*end != 0 || spec[5] == 0 || count < 1 || count > 65536) {
            snprintf(why, cap, "auto/N needs 1 <= N <= 65536");
            return PQT_ERR_SYNTAX;
        }
    }
    long long k8s = env_num(get, "JOB_COMPLETION_INDEX");
    long long slurm = env_num(get, "SLURM_ARRAY_TASK_ID");
    long long par = env_num(get, "PARALLEL_SEQ");
    const char *bad = k8s == -2     ? "JOB_COMPLETION_INDEX"
                      : slurm == -2 ? "SLURM_ARRAY_TASK_ID"
                      : par == -2   ? "PARALLEL_SEQ"
                                    : NULL;
    if (bad != NULL) {
        snprintf(why, cap, "%s is not a number", bad);
        return PQT_ERR_SYNTAX;
    }
    const char *jobid = NULL;
    if (k8s >= 0) {
        /* Kubernetes Indexed Job: JOB_COMPLETION_INDEX is 0 .. completions-1;
         * the pod is not told the completions count, hence auto/N. */
        out->engine = "kubernetes";
        if (count == 0) {
            snprintf(why, cap,
                     "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) gives the index but not "
                     "the count: write --shard auto/N with N = the Job's completions");
            return PQT_ERR_SYNTAX;
        }
        out->k = (unsigned)(k8s + 1);
        out->n = (unsigned)count;
    } else if (slurm >= 0) {
        /* Slurm array: ids run from SLURM_ARRAY_TASK_MIN by
         * SLURM_ARRAY_TASK_STEP, SLURM_ARRAY_TASK_COUNT of them. */
        long long min = env_num(get, "SLURM_ARRAY_TASK_MIN");
        long long step = env_num(get, "SLURM_ARRAY_TASK_STEP");
        long long cnt = env_num(get, "SLURM_ARRAY_TASK_COUNT");
        out->engine = "slurm";
        if (min < 0 || cnt < 1) {
            snprintf(why, cap,
                     "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN or "
                     "SLURM_ARRAY_TASK_COUNT is missing");
            return PQT_ERR_SYNTAX;
        }
        step = step < 1 ? 1 : step;
        if (slurm < min || (slurm - min) % step != 0) {
            snprintf(why, cap,
                     "SLURM_ARRAY_TASK_ID %lld is not min %lld + a multiple of step %lld (an "
                     "array given as a list? use --array=MIN-MAX[:STEP])",
                     slurm, min, step);
            return PQT_ERR_SYNTAX;
        }
        if (count != 0 && count != cnt) {
            snprintf(why, cap, "--shard auto/%lld but SLURM_ARRAY_TASK_COUNT is %lld", count, cnt);
            return PQT_ERR_SYNTAX;
        }
        out->k = (unsigned)((slurm - min) / step + 1);
        out->n = (unsigned)cnt;
        jobid = get("SLURM_ARRAY_JOB_ID");
        if (jobid != NULL && jobid[0] != 0) {
            snprintf(out->scan_id, sizeof(out->scan_id), "slurm-%s", jobid);
        }
    } else if (par >= 1) {
        /* GNU parallel: PARALLEL_SEQ counts jobs from 1. */
        out->engine = "parallel";
        if (count == 0) {
            snprintf(why, cap,
                     "PARALLEL_SEQ (GNU parallel) gives the job number but not the "
                     "count: write --shard auto/N");
            return PQT_ERR_SYNTAX;
        }
        out->k = (unsigned)par;
        out->n = (unsigned)count;
        jobid = get("PARALLEL_PID");
        if (jobid != NULL && jobid[0] != 0) {
            snprintf(out->scan_id, sizeof(out->scan_id), "parallel-%s", jobid);
        }
    } else {
        snprintf(why, cap,
                 "no job-array index in the environment (JOB_COMPLETION_INDEX, "
                 "SLURM_ARRAY_TASK_ID or PARALLEL_SEQ); give --shard K/N");
        return PQT_ERR_SYNTAX;
    }
    if (out->k > out->n || out->n > 65536) {
        snprintf(why, cap, "%s says shard %u of %u: more shards than the count", out->engine,
                 out->k, out->n);
        return PQT_ERR_SYNTAX;
    }
    if (out->scan_id[0] != 0 && !pqt_store_scan_id_valid(out->scan_id)) {
        out->scan_id[0] = 0;
    }
    return 0;
}
