// Package schedule holds the workshops Atelier announces, their recurrences, and the iCalendar
// feeds (RFC 5545, through github.com/emersion/go-ical) the public subscribes to.
//
// # HTTP API
//
//	POST   /api/workshops                         animator  create (201, Location)
//	GET    /api/workshops                         public    upcoming: not cancelled, not over;
//	                                                        ?software= ?series= ?language= ?limit= ?offset=
//	GET    /api/workshops/{id}                    public
//	PATCH  /api/workshops/{id}                    animator  fields given replace the stored ones
//	DELETE /api/workshops/{id}                    animator  204; see "Deleting" below
//	POST   /api/workshops/{id}/cancel             animator  whole workshop, or {"occurrence": local time}
//	POST   /api/workshops/import                  animator  text/calendar body; ?timezone= ?series=
//	                                                        ?language= ?animator= ?status=
//	POST   /api/freshness/{replay_id}/reschedule  animator  tentative draft to re-record a replay
//	GET    /calendar.ics, /calendar/software/{slug}.ics, /calendar/series/{slug}.ics,
//	       /workshops/{id}.ics                    public    feeds, with ETag/Last-Modified and 304
//
// A workshop in JSON: id, uid (stable, never reused), title, description, starts_at (local
// wall-clock time "2026-03-03T18:00:00"), timezone (IANA), duration (ISO 8601 "PT1H30M"; or give
// ends_at, local, instead), ends_at (end of the first occurrence), recurrence (RRULE value,
// normalized: FREQ first, UNTIL in UTC; DAILY or coarser; UNTIL at most 20 years on), exdates
// (local times), location, language, animator, capacity (0 = unlimited), registration_url,
// series (slug), documents ([{software, version}], checked by the catalog), status (tentative |
// confirmed | cancelled), sequence, replay_id (once its replay is published), created_at,
// updated_at, cancelled_at, next_occurrence, links {ics, webcal, replay}. The list reply adds
// links {ics, webcal} of the matching feed.
//
// Invalid input is 422 with the field: unknown time zone, a local time that does not exist (the
// hour skipped in spring), an RRULE part at fault (named), a non-positive duration or an end
// before the start, an unknown software (with the catalog's suggestion).
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
// (yearly RRULE observances when the zone follows a rule over the span, explicit ones
// otherwise), RRULE, EXDATE, SUMMARY, DESCRIPTION (the replay link first once published), LOCATION,
// URL (replay, else registration), STATUS, CATEGORIES (software slugs). Lines are folded at 75
// octets without splitting UTF-8 (go-ical does not fold). Published replays reach the workshops
// through Store.SyncReplays, run every minute by serve: it records replay_id and bumps the
// workshop, so the feed validator stays one aggregate SQL query (COUNT, MAX(updated_at),
// SUM(sequence)) over a covering index, and the rendered feed is cached by that ETag.
package schedule
