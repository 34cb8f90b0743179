/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Included last by every source of the policy library: from here on, any call that reads or
 * writes the world (files, sockets, the clock, the environment, libvirt, netlink) is a compile
 * error.  The policies are pure functions of the samples they are given; that is what lets the
 * agent, the simulator and the unit tests run the very same code.  Formatting into a caller's
 * buffer (snprintf) and plain memory are allowed.
 */
#ifndef MIGTUNE_POLICY_PURE_H
#define MIGTUNE_POLICY_PURE_H

#pragma GCC poison fopen fdopen freopen fclose fread fwrite fflush fprintf printf vprintf \
	vfprintf puts fputs fputc putc putchar getchar fgets fgetc scanf fscanf sscanf perror
#pragma GCC poison open openat creat close read write pread pwrite lseek ioctl fcntl \
	mmap munmap unlink rename mkdir
#pragma GCC poison socket connect bind listen accept accept4 send recv sendto recvfrom \
	sendmsg recvmsg poll select epoll_wait
#pragma GCC poison time clock_gettime gettimeofday sleep usleep nanosleep alarm
#pragma GCC poison getenv setenv system fork execv execve execvp popen syslog
#pragma GCC poison pthread_create pthread_mutex_lock
#pragma GCC poison virConnectPtr virDomainPtr nl_sock rtnl_link cds_lfht ring_writer

#endif
