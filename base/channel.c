/* channel.c - channel names. */
#include "channel.h"

#include <string.h>

/* "notify" is GOV.UK Notify: the name the config's contacts and the state store have always used.
 */
static const char *const channel_names[CHANNEL_COUNT] = {"email", "webhook", "teams", "slack",
                                                         "notify"};

/* The name of a channel. */
const char *
channel_name(enum channel ch)
{
	return (unsigned)ch < CHANNEL_COUNT ? channel_names[ch] : "unknown";
}

/* The channel called name, or -1. */
int
channel_parse(const char *name)
{
	for (int i = 0; i < CHANNEL_COUNT; i++)
		if (name != NULL && strcmp(channel_names[i], name) == 0)
			return i;
	return -1;
}
