#!/usr/bin/python3
"""Independent reader of Atelier's feeds, for schedule's tests.

Parses each .ics file given with Debian's python3-icalendar, builds every time zone from the
feed's own VTIMEZONE (not from the Python tz database, so Atelier's VTIMEZONE is what is tested),
expands RRULEs with dateutil.rrule in the event's local time, adds RDATEs (with DTSTART when there
is no RRULE, RFC 5545 §3.8.5.2), removes EXDATEs, and prints JSON:
{file: [{uid, summary, description, location, url, status, sequence, categories,
         local: [...], utc: [...]}]}. At most LIMIT occurrences per event.
"""
import json
import sys
from datetime import datetime, timezone

import icalendar
from dateutil import rrule

LIMIT = 60


def naive(dt):
    return dt.replace(tzinfo=None)


def read(path):
    with open(path, 'rb') as f:
        cal = icalendar.Calendar.from_ical(f.read())
    zones = {}
    for tz in cal.walk('VTIMEZONE'):
        zones[str(tz['TZID'])] = tz.to_tz()
    out = []
    for ev in cal.walk('VEVENT'):
        prop = ev['DTSTART']
        tzid = prop.params.get('TZID')
        dt = prop.dt
        if tzid:
            if tzid not in zones:
                raise SystemExit('%s: TZID %s has no VTIMEZONE' % (path, tzid))
            tz = zones[tzid]
            local = naive(dt)

            def to_utc(n, tz=tz):
                return tz.localize(n).astimezone(timezone.utc)

            def from_utc(u, tz=tz):
                return naive(u.astimezone(tz))
        else:
            if dt.tzinfo is None:
                raise SystemExit('%s: floating DTSTART' % path)
            local = naive(dt.astimezone(timezone.utc))

            def to_utc(n):
                return n.replace(tzinfo=timezone.utc)

            def from_utc(u):
                return naive(u.astimezone(timezone.utc))
        starts = [local]
        if 'RRULE' in ev or 'RDATE' in ev:
            rs = rrule.rruleset()
            if 'RRULE' in ev:
                rule = ev['RRULE']
                if 'UNTIL' in rule:
                    until = rule['UNTIL'][0]
                    if isinstance(until, datetime) and until.tzinfo is not None:
                        rule['UNTIL'] = [from_utc(until)]
                text = rule.to_ical().decode()
                rs.rrule(rrule.rrulestr(text, dtstart=local))
            else:
                rs.rdate(local)
            rd = ev.get('RDATE')
            if rd is not None:
                for e in (rd if isinstance(rd, list) else [rd]):
                    for d in e.dts:
                        v = d.dt
                        rs.rdate(naive(v) if e.params.get('TZID') else from_utc(v))
            exd = ev.get('EXDATE')
            if exd is not None:
                for e in (exd if isinstance(exd, list) else [exd]):
                    for d in e.dts:
                        v = d.dt
                        rs.exdate(naive(v) if e.params.get('TZID') else from_utc(v))
            starts = []
            for s in rs:
                starts.append(s)
                if len(starts) >= LIMIT:
                    break
        cats = []
        if 'CATEGORIES' in ev:
            c = ev['CATEGORIES']
            for item in (c if isinstance(c, list) else [c]):
                cats.extend(str(x) for x in item.cats)
        out.append({
            'uid': str(ev['UID']),
            'summary': str(ev.get('SUMMARY', '')),
            'description': str(ev.get('DESCRIPTION', '')),
            'location': str(ev.get('LOCATION', '')),
            'url': str(ev.get('URL', '')),
            'status': str(ev.get('STATUS', '')),
            'sequence': int(ev.get('SEQUENCE', 0)),
            'categories': cats,
            'local': [s.strftime('%Y-%m-%dT%H:%M:%S') for s in starts],
            'utc': [to_utc(s).strftime('%Y-%m-%dT%H:%M:%SZ') for s in starts],
        })
    return out


def main():
    json.dump({p: read(p) for p in sys.argv[1:]}, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == '__main__':
    main()
