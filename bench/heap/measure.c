// SPDX-License-Identifier: MIT
/*
 * hsbench-measure: run a command and report what it cost, on stderr as one
 * line "MEASURE wall_s user_s sys_s peak_kib exit": its time, and its peak
 * memory with hugetlb pages counted (VmRSS leaves them out), taken from
 * /proc every 2 ms and from VmHWM, which keeps the RSS peak between looks.
 *
 *   hsbench-measure COMMAND [ARGS...]
 *
 * The command's own output passes through.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmHWM + HugetlbPages of @pid in kB, or -1 once it is gone. */
static long sample(pid_t pid)
{
	char path[64], line[256];
	long hwm = -1, huge = 0, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			hwm = v;
		else if (sscanf(line, "HugetlbPages: %ld", &v) == 1)
			huge = v;
	}
	fclose(f);
	return hwm < 0 ? -1 : hwm + huge;
}

int main(int argc, char **argv)
{
	struct timespec nap = { 0, 2000000 };
	long peak = 0, v;
	double t0, wall;
	struct rusage ru;
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: hsbench-measure COMMAND [ARGS...]\n");
		return 2;
	}
	t0 = now_s();
	pid = fork();
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror("hsbench-measure: exec");
		_exit(127);
	}
	if (pid < 0)
		return 3;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		v = sample(pid);
		if (v > peak)
			peak = v;
		nanosleep(&nap, NULL);
	}
	wall = now_s() - t0;
	getrusage(RUSAGE_CHILDREN, &ru);
	/* A zombie's VmHWM is gone: what ru_maxrss kept is the RSS peak. */
	if (ru.ru_maxrss > peak)
		peak = ru.ru_maxrss;
	fprintf(stderr, "MEASURE %.3f %.3f %.3f %ld %d\n", wall,
		(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
		peak, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
