/* `pqtls history`: the migration over time, from a scan store (src/store/). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pqtls/store.h"
#include "util.h"

#define CMD "history"

void cli_help_history(FILE *out)
{
    fputs("Usage: pqtls history --store PATH_OR_URL [--since DATE] [--format FMT] [-o FILE]\n"
          "\n"
          "The scans a store holds (pqtls scan --store), as a trend: targets at each stage per\n"
          "scan, the share at required (the burndown), regressions (a target whose stage\n"
          "dropped or that gained a flag since the previous complete scan), new and vanished\n"
          "targets, and per target the time spent at each stage. Scans that did not finish\n"
          "(a shard killed or still running) are listed as incomplete and never compared.\n"
          "\n"
          "Options:\n"
          "  -s, --store URL      a SQLite file (path or sqlite:PATH) or postgresql://...\n"
          "      --since DATE     only scans started on or after DATE (YYYY-MM-DD, or\n"
          "                       YYYY-MM-DDTHH:MM:SSZ), UTC\n"
          "  -f, --format FMT     table (default), jsonl, csv (one row per scan), html\n"
          "                       (self-contained: stacked chart, burndown, regressions,\n"
          "                       per-target timelines), or cbom: the latest complete scan\n"
          "                       as a CycloneDX 1.7 BOM, the document pqtls scan --format\n"
          "                       cbom wrote for it (regressions are not judged then)\n"
          "  -o, --output FILE    write the report to FILE instead of standard output\n"
          "  -h, --help           this text\n"
          "\n"
          "Examples:\n"
          "  pqtls history --store scans.db\n"
          "  pqtls history --store postgresql://pqtls@db/pqtls --since 2025-01-01 --format html "
          "-o trend.html\n"
          "  pqtls history --store scans.db --format cbom -o cbom.json\n"
          "\n"
          "Exit status:\n"
          "  0  no regression in the latest complete scan\n"
          "  1  the latest complete scan has regressions (a CI or cron gate)\n"
          "  2  usage error\n"
          "  3  the store could not be read or the report not written; for cbom also: the\n"
          "     store has no complete scan\n"
          "  4  the store was written by a newer pqtls\n",
          out);
}

static const struct option history_options[] = {
    {"help", no_argument, NULL, 'h'},         {"store", required_argument, NULL, 's'},
    {"since", required_argument, NULL, 'S'},  {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0},
};

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[Z]" (UTC) to unix seconds; -1 if bad. */
static long long parse_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (end == NULL) {
        return -1;
    }
    if (*end == 'T' || *end == ' ') {
        end = strptime(end + 1, "%H:%M:%S", &tm);
        if (end == NULL) {
            return -1;
        }
        if (*end == 'Z') {
            end++;
        }
    }
    if (*end != 0) {
        return -1;
    }
    return (long long)timegm(&tm);
}

int cli_cmd_history(int argc, char **argv)
{
    cli_opts o = {.cmd = CMD, .optstring = "-:hs:f:o:", .longopts = history_options};
    const char *store_url = NULL, *format = "table", *output = NULL;
    pqt_history_options ho;
    pqt_history_summary sum;
    char why[512];
    int code;
    memset(&ho, 0, sizeof(ho));
    while ((code = cli_getopt(&o, argc, argv)) != CLI_OPT_END) {
        switch (code) {
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case CLI_OPT_OPERAND:
            cli_error(CMD, "unexpected argument '%s'; the store is given with --store", o.arg);
            return CLI_EXIT_USAGE;
        case 'h':
            cli_help_history(stdout);
            return cli_finish_output(CMD);
        case 's':
            store_url = o.value;
            break;
        case 'S': {
            long long t = parse_date(o.value);
            if (t < 0) {
                cli_error(CMD, "--since '%s': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)",
                          o.value);
                return CLI_EXIT_USAGE;
            }
            ho.since = t;
            break;
        }
        case 'f':
            format = o.value;
            break;
        case 'o':
            output = o.value;
            break;
        default:
            return CLI_EXIT_INTERNAL;
        }
    }
    if (strcmp(format, "table") == 0) {
        ho.format = PQT_HISTORY_TABLE;
    } else if (strcmp(format, "jsonl") == 0 || strcmp(format, "json") == 0) {
        ho.format = PQT_HISTORY_JSONL;
    } else if (strcmp(format, "csv") == 0) {
        ho.format = PQT_HISTORY_CSV;
    } else if (strcmp(format, "html") == 0) {
        ho.format = PQT_HISTORY_HTML;
    } else if (strcmp(format, "cbom") == 0) {
        ho.format = PQT_HISTORY_CBOM;
    } else {
        cli_error(CMD, "--format '%s': use table, jsonl, csv, html or cbom", format);
        return CLI_EXIT_USAGE;
    }
    if (store_url == NULL) {
        cli_error(CMD, "no store; give --store PATH (SQLite) or --store postgresql://...");
        return CLI_EXIT_USAGE;
    }
    pqt_store *s = NULL;
    int ret = pqt_store_open(store_url, &s, why, sizeof(why));
    if (ret != 0) {
        cli_error(CMD, "%s", why);
        return ret == PQT_ERR_UNSUPPORTED ? CLI_EXIT_UNSUPPORTED : CLI_EXIT_IO;
    }
    FILE *out = stdout;
    if (output != NULL && (out = fopen(output, "w")) == NULL) {
        cli_error(CMD, "cannot write '%s'", output);
        pqt_store_close(s);
        return CLI_EXIT_IO;
    }
    ret = pqt_store_history(s, &ho, out, &sum);
    int rc = CLI_EXIT_OK;
    if (ret == PQT_ERR_ARG && ho.format == PQT_HISTORY_CBOM) {
        cli_error(CMD,
                  "%s: scan with --store first (a scan is complete once all its shards "
                  "finish)",
                  pqt_store_error(s));
        rc = CLI_EXIT_IO;
    } else if (ret != 0) {
        cli_error(CMD, "could not read the store or write the report: %s",
                  pqt_store_error(s)[0] ? pqt_store_error(s) : pqt_strerror(ret));
        rc = CLI_EXIT_IO;
    }
    pqt_store_close(s);
    if (out != stdout && fclose(out) != 0 && rc == CLI_EXIT_OK) {
        cli_error(CMD, "could not write '%s'", output);
        rc = CLI_EXIT_IO;
    }
    if (rc == CLI_EXIT_OK && out == stdout) {
        rc = cli_finish_output(CMD);
    }
    if (rc == CLI_EXIT_OK && sum.regressions > 0) {
        cli_error(CMD, "%lu regression%s in the latest scan %s", sum.regressions,
                  sum.regressions == 1 ? "" : "s", sum.latest);
        rc = CLI_EXIT_FAILED;
    }
    return rc;
}
