# SPDX-License-Identifier: MIT
# Sourced by the benchmark scripts: machine_lines prints the machine a
# table was measured on (CPU, cores online, load average) and when, so that
# figures copied from it carry their context.
machine_lines() {
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	echo "CPU:      ${cpu:-unknown} ($(nproc) online), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "Date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
}
