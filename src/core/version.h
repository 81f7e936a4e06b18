/* `git describe` of the build (generated into build/gen/version.c by the Makefile). */
#ifndef BUOY_VERSION_H
#define BUOY_VERSION_H
extern const char buoy_version[];
#endif
