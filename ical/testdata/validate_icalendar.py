"""Parse an iCalendar file with Debian's python3-icalendar and print, as
JSON, each VEVENT as that library sees it.

Usage: python3 validate_icalendar.py FILE.ics

Start and end come out twice: through the library's own reading of TZID
(pytz's zone of that name) and through the file's VTIMEZONE converted with
Timezone.to_tz(), so both the local times and the generated VTIMEZONE are
checked. Exits non-zero when the file does not parse.
"""

import json
import sys
from datetime import date, datetime

import icalendar


def instant(dt, tz=None):
    if isinstance(dt, datetime):
        if dt.tzinfo is None:
            return None
        if tz is not None:
            dt = tz.localize(dt.replace(tzinfo=None))
        return int(dt.timestamp())
    return None


def describe(prop, zones):
    dt = prop.dt
    tzid = prop.params.get("TZID", "")
    out = {"tzid": str(tzid), "date": isinstance(dt, date) and not isinstance(dt, datetime)}
    if out["date"]:
        out["local"] = dt.isoformat()
        return out
    out["local"] = dt.replace(tzinfo=None).isoformat()
    out["unix"] = instant(dt)
    if tzid:
        if tzid not in zones:
            sys.exit("TZID %s has no VTIMEZONE" % tzid)
        out["unix_vtimezone"] = instant(dt, zones[tzid])
    return out


def main():
    with open(sys.argv[1], "rb") as f:
        cal = icalendar.Calendar.from_ical(f.read())
    zones = {}
    for comp in cal.walk("VTIMEZONE"):
        zones[str(comp["TZID"])] = comp.to_tz()
    events = []
    for ev in cal.walk("VEVENT"):
        cats = ev.get("CATEGORIES")
        cat_list = []
        if cats is not None:
            for c in cats if isinstance(cats, list) else [cats]:
                cat_list.extend(str(x) for x in c.cats) if hasattr(c, "cats") else cat_list.extend(str(c).split(","))
        events.append({
            "uid": str(ev["UID"]),
            "summary": str(ev.get("SUMMARY", "")),
            "description": str(ev.get("DESCRIPTION", "")),
            "location": str(ev.get("LOCATION", "")),
            "status": str(ev.get("STATUS", "")),
            "categories": cat_list,
            "start": describe(ev["DTSTART"], zones),
            "end": describe(ev["DTEND"], zones),
        })
    json.dump({"method": str(cal.get("METHOD", "")), "events": events}, sys.stdout)


if __name__ == "__main__":
    main()
