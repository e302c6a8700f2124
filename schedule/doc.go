// Package schedule holds the workshops Atelier announces, their recurrences, and the iCalendar
// feeds (RFC 5545, through github.com/emersion/go-ical) the public subscribes to.
//
// # HTTP API
//
// The handlers are the methods of API; every route, its method and the access it needs, is
// listed once in cmd/atelier/routes.go.
//
// Beyond the fields below: the list takes ?from= (a date: workshops not over then, instead of
// now), so the studio can link a recording to a workshop that just ended; POST
// /api/workshops/preview checks a draft exactly as a create would and answers its next
// occurrences ({workshop, occurrences, more, endless}; ?count=), storing nothing.
//
// A workshop in JSON: id, uid (stable, never reused), title, description, starts_at (local
// wall-clock time "2026-03-03T18:00:00"), timezone (IANA), duration (ISO 8601 "PT1H30M"; or give
// ends_at, local, instead), ends_at (end of the first occurrence), recurrence (RRULE value,
// normalized: FREQ first, UNTIL in UTC; DAILY or coarser, at most 4 a day: no BYSECOND or
// BYMINUTE list, at most 4 BYHOUR values; UNTIL at most 20 years on; at least one occurrence), rdates
// (RDATE: extra occurrences, local times after starts_at and within 20 years, at most 500, sorted;
// with rdates and no recurrence the workshop is a season: starts_at plus those dates), exdates
// (local times), location, language, animator, capacity (0 = unlimited), registration_url,
// series (slug), documents ([{software, version}], checked by the catalog), status (tentative |
// confirmed | cancelled), sequence, replay_id (once its replay is published), created_at,
// updated_at, cancelled_at, next_occurrence, links {ics, webcal, replay}. The list reply adds
// links {ics, webcal} of the matching feed.
//
// A preview (POST /api/workshops/preview) validates a draft as a save would and lists its next
// occurrences from now in its zone (starts_at, ends_at local; start with its offset), so that
// the studio shows the sessions the server will store before saving.
//
// An import takes RRULE, RDATE (lists, DATE and UTC values; a PERIOD is refused) and EXDATE; an
// event with neither DTEND nor DURATION gets Options.DefaultDuration (-default-duration, 1h30)
// and the answer's "warnings" array says so ({index, uid, summary, field, warning, id}).
//
// A reschedule names and links the replay it re-records only when that replay is published: the
// tentative workshop it creates is public at once, and a draft's or unlisted replay's title is
// not (the title then comes from the replay's workshop, or names the software).
//
// Invalid input is 422 with the field: unknown time zone, a local time that does not exist (the
// hour skipped in spring), an RRULE part at fault (named), a non-positive duration or an end
// before the start, an unknown software (with the catalog's suggestion).
//
// # Bounded expansions
//
// Expanding a series never walks it from its first occurrence: the next occurrence (API lists,
// pages, cancelling one occurrence) is looked for from a DTSTART moved whole periods of the rule
// towards the time asked for (series.movedStart), the span of a finite series is computed once
// when it is written, and every expansion stops after maxExpansion occurrences. A rule that never
// occurs is told in about one 400-year Gregorian cycle, not by a walk to the year 9999.
//
// # Changes subscribers see
//
// Every change that alters a workshop raises SEQUENCE and updated_at (which is also DTSTAMP and
// LAST-MODIFIED), so calendar clients replace their copy. Cancelling a whole workshop keeps it in
// the feeds with STATUS:CANCELLED for 30 days (CancelledRetention) so subscribed calendars remove
// it. Cancelling one occurrence of a series adds an EXDATE rather than a cancelled override
// (RECURRENCE-ID + STATUS:CANCELLED): every client honours EXDATE, overrides are handled
// unevenly, and the series stays one VEVENT. Deleting takes the workshop out of the API at once
// but, like a cancellation, keeps it in the feeds as cancelled for 30 days: a silent removal
// would leave it forever in subscribers' calendars.
//
// # Feeds
//
// One VEVENT per workshop: DTSTART/DTEND with TZID and a VTIMEZONE generated from Go's zone data
// (yearly RRULE observances when the zone follows a rule over the span, explicit ones otherwise),
// RRULE, RDATE and EXDATE (one line each, with TZID), SUMMARY, DESCRIPTION (the replay link first
// once published), LOCATION, URL (replay, else registration), STATUS, CATEGORIES (software slugs).
// Lines are folded at 75 octets without splitting UTF-8. VEVENTs are written straight into one
// buffer in the property order go-ical's encoder uses (feed_reference_test.go keeps that encoder
// and checks the bytes are the same); VTIMEZONEs go through go-ical. Published replays reach the
// workshops through Store.SyncReplays, run every minute by serve: it records replay_id and bumps
// the workshop (SEQUENCE and updated_at), so every change a feed shows moves a row's version.
//
// Calendar names and the labels inside events (and the Atom feeds' texts) follow the instance's
// language and name (Options.Language, Options.SiteName; i18n.go), not the visitor's: a feed has
// no visitor. The collection feeds keep a rolling window of past workshops (Options.FeedPast,
// a year by default): a workshop leaves them that long after its last occurrence ended.
//
// # Atom
//
// The upcoming workshops are also an Atom feed (atom.go), all or per software: one entry per
// workshop, soonest next occurrence first, with when and where in the summary (what a bridge
// to Mastodon posts), the description and details in the content, the software as categories.
//
// # Polled feeds
//
// Clients poll feeds constantly; three caches keep that cheap, all inside one process:
//
//   - The validator (ETag, Last-Modified) of each feed comes from one aggregate SQL query
//     (COUNT, MAX(updated_at), SUM(sequence), MIN(cancelled_at)) over a covering index, kept in
//     memory and computed again only when something may have changed it: a write committed
//     through this Store (Store.Generation, bumped after each commit), a commit by any other
//     connection or process to the SQLite file (PRAGMA data_version on a dedicated connection;
//     on PostgreSQL a count of writes that a trigger keeps in schedule_changes),
//     a new day (part of the ETag: the VTIMEZONE horizon of endless series follows the clock),
//     or the instant the oldest cancellation in the feed passes CancelledRetention. A 304 costs
//     no query but that PRAGMA. This is Options.FeedValidation's default, ValidateWatch.
//     ValidateInProcess drops the PRAGMA, correct only while this process's Store is the only
//     writer. ValidateQuery runs the aggregate query on every request, as before.
//   - The rendered feed, by feed and ETag.
//   - The VEVENT of each workshop, by id and (sequence, updated_at), shared by all feeds: after an
//     edit, a feed is rebuilt from the FeedEntries list (a covering index in feed order), the
//     rows of the changed workshops and the cached bytes of the others. A cold render (a
//     process that just started) reads the rows in one query, encoding each batch while the
//     next is read; serve does it at start (API.Warm), and a feed is rendered once per ETag
//     however many requests ask for it meanwhile (singleflight).
//
// Like the validator, the VEVENT cache assumes that whatever changes a row a feed shows raises
// its sequence and updated_at: a hand-made UPDATE that does not would be seen by neither.
package schedule
