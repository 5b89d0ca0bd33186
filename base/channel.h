/* channel.h - the ways an alert can be delivered, named as rule files, the config and the state
 * store name them. */
#ifndef ESCALATOR_CHANNEL_H
#define ESCALATOR_CHANNEL_H

/*
 * A recipient's channel. The rule files name recipients, the config defines
 * them, the state store records them and the notifiers deliver on them: this
 * one list is the vocabulary all of them share.
 */
enum channel {
	CHANNEL_EMAIL,        /* SMTP; the address is the mailbox */
	CHANNEL_WEBHOOK,      /* signed JSON POST; the address is the URL */
	CHANNEL_TEAMS,        /* Microsoft Teams workflow; the address is the contact's name */
	CHANNEL_SLACK,        /* Slack incoming webhook; the address is the contact's name */
	CHANNEL_GOVUK_NOTIFY, /* GOV.UK Notify email; the address is the contact's name */
};
#define CHANNEL_COUNT 5

/* The channel's name as the config and the state store write it ("email", "notify"...). */
const char *channel_name(enum channel ch);
/* The channel called name, or -1. */
int channel_parse(const char *name);

#endif
