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
from datetime import date, datetime, timedelta

import dateutil.rrule
import icalendar
import icalendar.cal

# python-icalendar 4 hands a VTIMEZONE's RRULE to dateutil with a floating
# DTSTART, and current dateutil refuses the UTC UNTIL that RFC 5545 requires
# there. Later icalendar releases make the UNTIL floating; do the same, a
# day later so that no offset can cut off the last onset (yearly onsets are
# months apart).
_rrulestr = dateutil.rrule.rrulestr


def _floating_until(part):
    if part.startswith("UNTIL=") and part.endswith("Z"):
        until = datetime.strptime(part[6:-1], "%Y%m%dT%H%M%S") + timedelta(days=1)
        return "UNTIL=" + until.strftime("%Y%m%dT%H%M%S")
    return part


def _floating_until_rrulestr(s, dtstart=None, **kwargs):
    if dtstart is not None and dtstart.tzinfo is None:
        s = ";".join(_floating_until(p) for p in s.split(";"))
    return _rrulestr(s, dtstart=dtstart, **kwargs)


icalendar.cal.dateutil.rrule.rrulestr = _floating_until_rrulestr


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
        events.append({
            "uid": str(ev["UID"]),
            "summary": str(ev.get("SUMMARY", "")),
            "description": str(ev.get("DESCRIPTION", "")),
            "location": str(ev.get("LOCATION", "")),
            "status": str(ev.get("STATUS", "")),
            # CATEGORIES is left out: this version splits escaped commas.
            "start": describe(ev["DTSTART"], zones),
            "end": describe(ev["DTEND"], zones),
        })
    freebusy = []
    for comp in cal.walk("VFREEBUSY"):
        props = comp.get("FREEBUSY", [])
        if not isinstance(props, list):
            props = [props]
        for prop in props:
            if prop is None:
                sys.exit("a FREEBUSY period does not parse: %s" % comp.errors)
            fbtype = str(prop.params.get("FBTYPE", "BUSY"))
            freebusy.append({"start": instant(prop.start), "end": instant(prop.end), "type": fbtype})
    json.dump({"method": str(cal.get("METHOD", "")), "events": events, "freebusy": freebusy}, sys.stdout)


if __name__ == "__main__":
    main()
