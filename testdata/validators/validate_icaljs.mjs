// Parses an iCalendar file with ical.js, the parser inside Thunderbird, and
// prints one JSON object per VEVENT as seen by it: texts, and start and end
// both as local wall-clock times and as Unix seconds, resolved through the
// file's own VTIMEZONEs (ical.js knows no zone but UTC by itself).
//
// Usage: node validate_icaljs.mjs FILE.ics
// The ical.js package is looked up in $CALGATE_TEST_NODE_PATH (a
// node_modules directory). Exits non-zero on a parse error, a line longer
// than 75 octets, a bare LF, a missing required property, or a TZID that
// names no VTIMEZONE of the file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.CALGATE_TEST_NODE_PATH;
if (!modules) {
  console.error('CALGATE_TEST_NODE_PATH must name the node_modules directory holding ical.js');
  process.exit(2);
}
const ICAL = (await import(pathToFileURL(join(modules, 'ical.js', 'dist', 'ical.js')).href)).default;

const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};

const raw = readFileSync(process.argv[2]);
const text = raw.toString('utf8');
// Lines: CRLF only, at most 75 octets each.
const lines = raw.toString('latin1').split('\r\n');
if (lines.pop() !== '') fail('the file does not end with CRLF');
lines.forEach((line, i) => {
  if (line.includes('\n') || line.includes('\r')) fail(`line ${i + 1}: bare LF or CR`);
  if (line.length > 75) fail(`line ${i + 1}: ${line.length} octets, more than 75`);
});

let cal;
try {
  cal = new ICAL.Component(ICAL.parse(text));
} catch (err) {
  fail(`ical.js cannot parse the file: ${err}`);
}
if (cal.name !== 'vcalendar') fail(`top component is ${cal.name}`);
for (const prop of ['version', 'prodid']) {
  if (!cal.getFirstPropertyValue(prop)) fail(`VCALENDAR has no ${prop.toUpperCase()}`);
}

ICAL.TimezoneService.reset();
const zones = new Set();
for (const vtz of cal.getAllSubcomponents('vtimezone')) {
  const tz = new ICAL.Timezone(vtz);
  ICAL.TimezoneService.register(tz);
  zones.add(tz.tzid);
}

const out = [];
for (const comp of cal.getAllSubcomponents('vevent')) {
  const uid = comp.getFirstPropertyValue('uid');
  for (const prop of ['uid', 'dtstamp', 'dtstart']) {
    if (!comp.getFirstProperty(prop)) fail(`VEVENT ${uid}: no ${prop.toUpperCase()}`);
  }
  for (const prop of ['dtstart', 'dtend']) {
    const tzid = comp.getFirstProperty(prop)?.getParameter('tzid');
    if (tzid && !zones.has(tzid)) fail(`VEVENT ${uid}: ${prop} names TZID ${tzid} without a VTIMEZONE`);
  }
  // No exceptions to relate: without this, ical.js scans every sibling
  // VEVENT for each event.
  const ev = new ICAL.Event(comp, { exceptions: [] });
  const time = (t) => ({ local: t.toString(), unix: t.toUnixTime(), zone: t.zone?.tzid ?? '', date: t.isDate });
  out.push({
    uid,
    summary: ev.summary ?? '',
    description: ev.description ?? '',
    location: ev.location ?? '',
    status: comp.getFirstPropertyValue('status') ?? '',
    categories: comp.getAllProperties('categories').flatMap((p) => p.getValues()),
    sequence: ev.sequence,
    start: time(ev.startDate),
    end: time(ev.endDate),
  });
}
// FREEBUSY periods of VFREEBUSY components, in Unix seconds.
const freebusy = [];
for (const comp of cal.getAllSubcomponents('vfreebusy')) {
  for (const prop of ['uid', 'dtstamp']) {
    if (!comp.getFirstProperty(prop)) fail(`VFREEBUSY: no ${prop.toUpperCase()}`);
  }
  for (const prop of comp.getAllProperties('freebusy')) {
    const type = prop.getParameter('fbtype') ?? 'BUSY';
    for (const period of prop.getValues()) {
      freebusy.push({ start: period.start.toUnixTime(), end: period.getEnd().toUnixTime(), type });
    }
  }
}
process.stdout.write(JSON.stringify({ method: cal.getFirstPropertyValue('method') ?? '', events: out, freebusy }));
