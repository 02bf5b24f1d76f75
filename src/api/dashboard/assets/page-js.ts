/**
 * The dashboard's script, served as /dashboard.js. Plain ES2017, no framework. Every piece of
 * data reaches the DOM through textContent (never innerHTML), links only when they are http(s).
 * Live over /events; when the stream fails it polls /api/v1/state and keeps retrying the stream.
 */
export const PAGE_JS = String.raw`(function () {
  'use strict';
  var LOG_LIMIT = 1000;
  var POLL_MS = 5000;
  var PRIORITIES = { CRITICAL: 'critical', HIGH: 'high', NORMAL: 'normal', LOW: 'low' };
  var STATUS_CLASS = {
    succeeded: 'good', dispatched: 'good', running: 'busy', starting: 'busy', retry_wait: 'wait', needs_attention: 'wait',
    failed: 'bad', timed_out: 'bad', start_failed: 'bad', lost: 'bad', claim_failed: 'bad', stopped: 'idle',
    cancelled: 'idle', stalled: 'bad', over_budget: 'bad'
  };
  var TRACKER_CLASS = { ok: 'good', degraded: 'wait', down: 'bad', unknown: 'idle' };

  var current = null;
  var skew = 0;
  var lastSeq = 0;
  var instance = null;
  var rendered = {};
  var seenRows = {};
  var source = null;
  var failures = 0;
  var pollTimer = 0;
  var reconnectTimer = 0;
  var signedOut = false;

  function $(id) { return document.getElementById(id); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function append(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function serverNow() { return Date.now() + skew; }
  function usd(amount) { return '$' + Number(amount).toFixed(2); }

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function duration(ms) {
    if (!(ms >= 0)) ms = 0;
    if (ms < 10000 && ms % 1000 !== 0) return (Math.floor(ms / 100) / 10) + 's';
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + pad(s % 60) + 's';
    var h = Math.floor(m / 60);
    if (h < 24) return h + 'h ' + pad(m % 60) + 'm';
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }
  function clock(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    var text = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    if (new Date().toDateString() !== d.toDateString()) text = d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ' ' + text;
    return text;
  }
  function liveText(kind, iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return '';
    var delta = serverNow() - t;
    if (kind === 'since') return duration(Math.floor(delta / 1000) * 1000);
    if (kind === 'ago') return delta < 1500 ? 'just now' : duration(Math.floor(delta / 1000) * 1000) + ' ago';
    if (kind === 'until') return delta > 1000 ? 'overdue ' + duration(Math.floor(delta / 1000) * 1000) : delta > -1000 ? 'now' : 'in ' + duration(Math.ceil(-delta / 1000) * 1000);
    return '';
  }
  /** A span whose text the clock keeps current: "since" (elapsed), "ago", "until" (countdown). */
  function live(kind, iso, className) {
    var span = el('span', className, liveText(kind, iso));
    span.dataset.live = kind;
    span.dataset.time = iso;
    span.title = iso;
    return span;
  }
  function tick() {
    var nodes = document.querySelectorAll('[data-live]');
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      node.textContent = liveText(node.dataset.live, node.dataset.time);
      if (node.dataset.live === 'until') node.classList.toggle('overdue', Date.parse(node.dataset.time) < serverNow());
    }
  }

  function priorityBadge(priority) {
    var key = PRIORITIES[priority] || 'normal';
    return el('span', 'prio ' + key, priority || 'NORMAL');
  }
  function statusBadge(status, text) {
    return el('span', 'status ' + (STATUS_CLASS[status] || 'idle'), text || String(status).replace(/_/g, ' '));
  }
  function safeUrl(url) {
    return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : '';
  }
  function taskCell(item) {
    var td = el('td', 'task');
    var badge = priorityBadge(item.priority);
    badge.classList.add('show-sm');
    append(td, badge, el('span', 'id', item.taskId));
    var url = safeUrl(item.url);
    if (url) {
      var link = el('a', 'title', item.title || '(untitled)');
      link.href = url;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      td.appendChild(link);
    } else {
      td.appendChild(el('span', 'title', item.title || '(untitled)'));
    }
    return td;
  }
  function td(content, className) {
    var cell = el('td', className);
    if (content instanceof Node) cell.appendChild(content);
    else if (content !== undefined && content !== null) cell.textContent = String(content);
    return cell;
  }
  function table(headers, rows, emptyText) {
    var t = el('table');
    var head = el('thead');
    var hr = el('tr');
    headers.forEach(function (h) {
      var th = el('th', typeof h === 'string' ? '' : h[1], typeof h === 'string' ? h : h[0]);
      hr.appendChild(th);
    });
    append(t, append(head, hr));
    var body = el('tbody');
    if (rows.length === 0) {
      var tr = el('tr');
      var cell = el('td', 'empty', emptyText);
      cell.colSpan = headers.length;
      append(body, append(tr, cell));
    }
    rows.forEach(function (row) { body.appendChild(row); });
    t.appendChild(body);
    return t;
  }
  function row(item, cells, key) {
    var tr = el('tr', 'p-' + (PRIORITIES[item.priority] || 'normal'));
    tr.dataset.taskId = item.taskId;
    if (key) {
      if (seenRows[key] === false) tr.classList.add('fresh');
    }
    cells.forEach(function (cell) { tr.appendChild(cell); });
    return tr;
  }
  /** Rows already shown stay calm; a row never seen before flashes once. */
  function markSeen(prefix, ids, first) {
    var next = {};
    ids.forEach(function (id) { next[prefix + id] = first || seenRows[prefix + id] === true; });
    Object.keys(seenRows).forEach(function (key) { if (key.indexOf(prefix) !== 0) next[key] = seenRows[key]; });
    seenRows = next;
  }
  function settleSeen() {
    Object.keys(seenRows).forEach(function (key) { seenRows[key] = true; });
  }

  function card(title) {
    var c = el('div', 'card');
    c.appendChild(el('h3', '', title));
    return c;
  }
  function line(parent, className) {
    var l = el('div', 'line ' + (className || ''));
    for (var i = 2; i < arguments.length; i++) {
      var part = arguments[i];
      if (part === null || part === undefined || part === '') continue;
      l.appendChild(part instanceof Node ? part : document.createTextNode(String(part)));
    }
    parent.appendChild(l);
    return l;
  }

  /**
   * The cluster (run with [coordination]): its agents and free slots within the cap, then each host:
   * its agents and free slots, and its lease (in red when it ran out). Lease ages tick in the browser
   * from the heartbeat's time, as the database saw it when the state was built. Host lines wrap
   * rather than cut off their end.
   */
  function clusterCard(c, generatedAt) {
    var box = card('Cluster');
    box.dataset.card = 'cluster';
    append(box, append(el('div', 'big'), document.createTextNode(String(c.running)), el('small', '', 'running')));
    line(box, 'summary', c.free + ' free' + (c.max !== undefined ? ' · cluster cap ' + c.max : ''));
    c.hosts.forEach(function (h) {
      var heartbeat = new Date(Date.parse(generatedAt) - h.leaseAgeMs).toISOString();
      var self = h.hostId === c.hostId ? ' (this host)' : '';
      var agents = !h.alive ? (h.running ? ' · ' + h.running + ' running' : '') : h.slots !== undefined ? ' · ' + h.running + '/' + h.slots + ' running, ' + h.free + ' free' : ' · ' + h.running + ' running';
      var lease = h.alive
        ? append(el('div', 'lease', 'lease renewed '), live('ago', heartbeat))
        : h.stopped
          ? append(el('div', 'lease', 'stopped, lease given up · last heartbeat '), live('ago', heartbeat))
          : append(el('div', 'lease', (h.takenOverBy ? 'down, taken over by ' + h.takenOverBy : 'lease ran out') + ' · no heartbeat for '), live('since', heartbeat));
      var l = line(box, h.alive || h.stopped ? 'host' : 'host bad', el('b', '', h.hostId), self + agents, lease);
      l.dataset.hostId = h.hostId;
    });
    return box;
  }

  /** The database does not answer this host: the cluster cannot be read, and the host starts no agent until it does. */
  function clusterDownCard(reason) {
    var box = card('Cluster');
    box.dataset.card = 'cluster';
    line(box, 'wrap bad', 'cannot read the cluster: ' + reason).title = reason;
    line(box, 'wrap', 'this host starts no new agent until the database answers; its running agents go on');
    return box;
  }

  function renderCards(s) {
    var box = $('cards');
    var cards = [];
    var tr = s.tracker;
    var tracker = card('Tracker');
    var big = append(el('div', 'big'), statusBadge(TRACKER_CLASS[tr.status] === 'good' ? 'succeeded' : tr.status === 'down' ? 'failed' : tr.status === 'degraded' ? 'retry_wait' : 'stopped', tr.status), el('small', '', tr.type));
    tracker.appendChild(big);
    if (tr.lastPollAt) line(tracker, '', 'last poll ', live('ago', tr.lastPollAt));
    else line(tracker, '', 'no poll yet');
    if (tr.backoffUntil) line(tracker, 'bad', 'backing off, next try ', live('until', tr.backoffUntil));
    else if (tr.nextPollAt) line(tracker, '', 'next poll ', live('until', tr.nextPollAt));
    if (tr.consecutiveFailures > 0) line(tracker, 'bad', tr.consecutiveFailures + ' failed poll' + (tr.consecutiveFailures > 1 ? 's' : '') + ' in a row');
    if (tr.lastError) line(tracker, 'bad', tr.lastError).title = tr.lastError;
    var paused = s.groups.rows.filter(function (r) { return r.broken; }).length;
    if (paused) line(tracker, 'bad', paused + ' route' + (paused > 1 ? 's' : '') + ' paused: a queue cannot be found');
    if (tr.lastTick) line(tracker, '', 'last tick ', live('ago', tr.lastTick.at), ' (' + tr.lastTick.trigger + ')');
    (tr.deliveries || []).forEach(function (d) {
      var what = d.result === 'refused' ? 'refused (' + d.status + (d.reason ? ': ' + d.reason : '') + ')' : d.result;
      line(tracker, d.result === 'refused' ? 'bad' : '', d.tracker + ' webhook ', live('ago', d.at), ': ' + (d.event ? d.event + ' ' : '') + what).title = d.reason || '';
    });
    if (tr.writesPending) {
      line(tracker, 'bad', tr.writesPending + ' tracker write' + (tr.writesPending > 1 ? 's' : '') + ' pending', tr.writesNextTryAt ? ', next try ' : ', being tried', tr.writesNextTryAt ? live('until', tr.writesNextTryAt) : '');
      if (tr.writesLastError) line(tracker, 'bad', tr.writesLastError).title = tr.writesLastError;
    }
    cards.push(tracker);

    if (s.slots) {
      var slots = card('Agent slots');
      append(slots, append(el('div', 'big'), document.createTextNode(String(s.slots.used)), el('small', '', '/ ' + s.slots.max + ' used')));
      var bar = el('div', 'bar' + (s.slots.free === 0 ? ' full' : ''));
      var fill = el('span');
      fill.style.width = Math.min(100, s.slots.max ? (100 * s.slots.used) / s.slots.max : 0) + '%';
      slots.appendChild(append(bar, fill));
      line(slots, '', s.slots.free + ' free' + (s.waiting.length ? ' · ' + s.waiting.length + ' waiting to retry' : ''));
      if (s.paused) {
        var why = line(slots, 'bad paused', s.paused.reason.replace(/; resumes at .*$/, ''));
        why.title = s.paused.reason;
        if (s.paused.resumesAt) line(slots, '', 'resumes ', live('until', s.paused.resumesAt), ' (' + clock(s.paused.resumesAt) + ')');
      }
      cards.push(slots);
    }
    if (s.cluster) cards.push(clusterCard(s.cluster, s.generatedAt));
    else if (s.clusterError) cards.push(clusterDownCard(s.clusterError));
    if (s.spend) {
      var spend = card('Spent today');
      append(spend, append(el('div', 'big'), document.createTextNode(usd(s.spend.todayUsd)), s.spend.dailyBudgetUsd !== undefined ? el('small', '', 'of ' + usd(s.spend.dailyBudgetUsd)) : null));
      line(spend, '', s.spend.dailyBudgetUsd !== undefined ? 'daily budget, resets at midnight' : 'no daily budget set');
      cards.push(spend);
    }
    if (s.rateLimit) {
      var rate = card('Rate limit');
      var rl = s.rateLimit;
      append(rate, append(el('div', 'big'), document.createTextNode(String(Math.floor(rl.available))), el('small', '', '/ ' + rl.capacity + ' available')));
      var rbar = el('div', 'bar' + (rl.available < 1 ? ' full' : ''));
      var rfill = el('span');
      rfill.style.width = Math.min(100, rl.capacity ? (100 * rl.available) / rl.capacity : 0) + '%';
      rate.appendChild(append(rbar, rfill));
      line(rate, '', rl.perMinute + ' per minute');
      if (rl.nextSlotAt && rl.available < 1) line(rate, '', 'next slot ', live('until', rl.nextSlotAt));
      cards.push(rate);
    }
    if (!s.slots && !s.rateLimit) cards.push(card('Capacity'));

    var up = card('Uptime');
    append(up, append(el('div', 'big'), live('since', s.startedAt)));
    line(up, '', 'since ' + clock(s.startedAt));
    line(up, '', 'polling every ' + duration(s.pollIntervalMs));
    if (s.lastCycle) line(up, '', 'last cycle: ' + s.lastCycle.openTasks + ' open, ' + s.lastCycle.dispatched + ' dispatched, ' + s.lastCycle.waiting + ' waiting');
    cards.push(up);

    var totals = card(s.mode === 'run' ? 'Runs in history' : 'Totals');
    var grid = el('div', 'totals');
    Object.keys(s.totals).forEach(function (name) {
      append(grid, append(el('div'), el('b', '', s.totals[name]), el('span', '', name.replace(/_/g, ' '))));
    });
    totals.appendChild(grid);
    cards.push(totals);
    box.replaceChildren.apply(box, cards);
  }

  /** The run's workspace folder (the whole path on hover) and branch; nothing without one. */
  function workspaceLine(r) {
    if (!r.workspace) return null;
    var line = el('span', 'sub mono', r.workspace.split('/').pop() + (r.branch ? ' · ' + r.branch : ''));
    line.title = r.workspace;
    return line;
  }

  function renderRunning(s) {
    var panel = $('running-panel');
    panel.hidden = s.mode !== 'run';
    if (panel.hidden) return;
    var elsewhere = s.runningElsewhere || [];
    var count = s.running.length + elsewhere.length;
    $('running-count').textContent = count ? String(count) : '';
    markSeen('run:', s.running.concat(elsewhere).map(function (r) { return r.runId; }), rendered.first);
    var rows = s.running.map(function (r) {
      return row(r, [
        td(priorityBadge(r.priority), 'nowrap hide-sm'),
        taskCell(r),
        td(append(el('span'), document.createTextNode(r.route), el('span', 'sub', r.agent), workspaceLine(r))),
        td(r.startedAt ? live('since', r.startedAt, 'num') : statusBadge(r.status), 'nowrap'),
        td(r.deadline ? live('until', r.deadline, 'num') : el('span', 'muted', 'none'), 'nowrap hide-sm'),
        td(r.pid ? String(r.pid) : '–', 'mono hide-sm'),
        td(r.attempt + '/' + r.maxAttempts, 'num nowrap hide-sm'),
        td(stopButton(r), 'nowrap')
      ], 'run:' + r.runId);
    }).concat(elsewhere.map(function (r) {
      // Another host's agent (coordination): its host stops it at its next heartbeat.
      return row(r, [
        td(priorityBadge(r.priority), 'nowrap hide-sm'),
        taskCell(r),
        td(append(el('span'), document.createTextNode(r.route), el('span', 'sub', 'on host ' + r.host + (r.agent ? ' · ' + r.agent : '')))),
        td(r.startedAt ? live('since', r.startedAt, 'num') : statusBadge(r.status), 'nowrap'),
        td(el('span', 'muted', '–'), 'nowrap hide-sm'),
        td('–', 'mono hide-sm'),
        td('–', 'num nowrap hide-sm'),
        td(stopButton(r), 'nowrap')
      ], 'run:' + r.runId);
    }));
    $('running').replaceChildren(table([['Priority', 'hide-sm'], 'Task', 'Route', 'Elapsed', ['Deadline', 'hide-sm'], ['PID', 'hide-sm'], ['Try', 'hide-sm'], ''], rows, 'No agent is running.'));
  }

  /** Stop: asks first, then TERM → grace → KILL through the dashboard's endpoint; the row goes when the run settles. */
  function stopButton(r) {
    var button = el('button', 'stop', 'Stop');
    button.type = 'button';
    button.title = 'Stop this agent (TERM, then KILL after the grace period); the task stays in progress';
    button.addEventListener('click', function () {
      var where = r.host ? ' on host ' + r.host : '';
      if (!window.confirm('Stop the agent of task ' + r.taskId + ' (' + (r.title || 'untitled') + ')' + where + '? The task stays in its in-progress queue.' + (r.host ? ' Its host stops it at its next heartbeat.' : ''))) return;
      button.disabled = true;
      button.textContent = 'Stopping…';
      fetch('/dashboard/runs/' + encodeURIComponent(r.runId) + '/stop', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ reason: 'stopped from the dashboard' })
      })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            if (!response.ok) throw new Error((body.error && body.error.message) || 'HTTP ' + response.status);
            notice(body.settled === false ? 'The stop of task ' + r.taskId + ' is recorded; host ' + body.host + ' has not acted on it yet.' : 'Stopped the agent of task ' + r.taskId + where + '.');
          });
        })
        .catch(function (error) {
          button.disabled = false;
          button.textContent = 'Stop';
          notice('Could not stop the agent of task ' + r.taskId + ': ' + error.message);
        });
    });
    return button;
  }

  function renderWaiting(s) {
    var panel = $('waiting-panel');
    panel.hidden = s.waiting.length === 0;
    if (panel.hidden) return;
    $('waiting-count').textContent = String(s.waiting.length);
    var rows = s.waiting.map(function (w) {
      return row(w, [
        td(priorityBadge(w.priority), 'nowrap hide-sm'),
        taskCell(w),
        td(w.route),
        td(w.nextAttemptAt ? live('until', w.nextAttemptAt, 'num') : '', 'nowrap'),
        td(w.attempt + '/' + w.maxAttempts, 'num nowrap hide-sm'),
        td(w.outcome || '', 'hide-sm')
      ]);
    });
    $('waiting').replaceChildren(table([['Priority', 'hide-sm'], 'Task', 'Route', 'Next try', ['Try', 'hide-sm'], ['Last outcome', 'hide-sm']], rows, ''));
  }

  function renderRecent(s) {
    var isRun = s.mode === 'run';
    $('recent-title').textContent = isRun ? 'Recent runs' : 'Recent dispatches';
    $('recent-count').textContent = s.recent.length ? String(s.recent.length) : '';
    markSeen('recent:', s.recent.map(function (r) { return r.id; }), rendered.first);
    var rows = s.recent.map(function (r) {
      var when = append(el('span', 'nowrap'), el('span', 'num', clock(r.at)), live('ago', r.at, 'sub'));
      var same = !r.outcome || r.outcome === String(r.status).replace(/_/g, ' ');
      var outcome = append(el('span'), statusBadge(r.status), same ? null : el('span', 'sub', r.outcome), r.costUsd !== undefined ? el('span', 'sub cost', usd(r.costUsd)) : null);
      if (r.trackerWrites === 'pending' || r.trackerWrites === 'dropped') outcome.appendChild(el('span', 'sub bad', 'tracker writes ' + r.trackerWrites));
      return row(r, [
        td(when, 'nowrap'),
        td(priorityBadge(r.priority), 'nowrap hide-sm'),
        taskCell(r),
        td(r.route ? append(el('span'), document.createTextNode(r.route), el('span', 'sub', r.who), workspaceLine(r)) : r.who, 'hide-sm'),
        td(outcome),
        td(r.durationMs !== undefined ? duration(r.durationMs) : '', 'num nowrap hide-sm')
      ], 'recent:' + r.id);
    });
    var headers = ['When', ['Priority', 'hide-sm'], 'Task', [isRun ? 'Route' : 'Assignee', 'hide-sm'], 'Outcome', [isRun ? 'Took' : '', 'hide-sm']];
    $('recent').replaceChildren(table(headers, rows, isRun ? 'No run has finished yet.' : 'Nothing dispatched yet.'));
  }

  function renderGroups(s) {
    var g = s.groups;
    $('groups-title').textContent = g.by === 'route' ? 'By route' : 'By assignee';
    var rows = g.rows.map(function (r) {
      var tr = el('tr');
      var paused = r.broken ? el('span', 'sub paused', 'paused: ' + r.broken.reason) : null;
      if (paused) paused.title = r.broken.reason;
      tr.appendChild(td(append(el('span'), document.createTextNode(r.name), r.note ? el('span', 'sub', r.note) : null, paused)));
      g.columns.forEach(function (c) {
        var n = r.counts[c] || 0;
        tr.appendChild(td(n, 'num count-cell' + (n === 0 ? ' zero' : '')));
      });
      return tr;
    });
    $('groups').replaceChildren(table([g.by === 'route' ? 'Route' : 'Assignee'].concat(g.columns.map(function (c) { return c.replace(/_/g, ' '); })), rows, g.by === 'route' ? 'No route configured.' : 'No assignee yet.'));
    var others = s.daemons || [];
    $('daemons').textContent = others.length ? 'Other dispatcher processes on this host: ' + others.map(function (d) { return d.mode + ' (pid ' + d.pid + ')'; }).join(', ') : '';
  }

  function renderHeader(s) {
    $('mode').textContent = s.mode === 'run' ? 'run' : 'dispatch-file' + (s.detail && s.detail !== 'loop' ? ' · ' + s.detail : '');
    $('tracker-name').textContent = s.tracker.type + (s.tracker.where ? ' · ' + s.tracker.where : '');
    var busy = s.mode === 'run' ? s.running.length + ' running' : s.totals.dispatched + ' dispatched';
    document.title = busy + ' · dispatcher';
    $('footer').textContent = 'Updated live over Server-Sent Events · server time ' + clock(s.generatedAt) + (s.configLoadedAt ? ' · config loaded ' + clock(s.configLoadedAt) : '') + ' · ' + s.instance.slice(0, 8);
  }

  /** The cluster as the card shows it: each lease by its heartbeat's second, so a renewal redraws it and mere ageing does not. */
  function clusterKey(s) {
    if (!s.cluster) return s.clusterError || null;
    return [s.cluster.running, s.cluster.free, s.cluster.max, s.cluster.hosts.map(function (h) {
      return [h.hostId, h.alive, h.running, h.slots, h.free, h.takenOverBy, Math.round((Date.parse(s.generatedAt) - h.leaseAgeMs) / 1000)];
    })];
  }

  var sections = [
    ['header', renderHeader, function (s) { return [s.mode, s.detail, s.tracker.type, s.tracker.where, s.running.length, s.totals, s.instance, s.configLoadedAt]; }],
    ['cards', renderCards, function (s) { return [s.tracker, s.slots, s.rateLimit, s.lastCycle, s.totals, s.startedAt, s.pollIntervalMs, s.waiting.length, s.paused, s.spend, s.groups.rows.filter(function (r) { return r.broken; }).length, clusterKey(s)]; }],
    ['running', renderRunning, function (s) { return s.running.map(function (r) { return [r.runId, r.status, r.startedAt, r.deadline, r.pid, r.title, r.priority]; }); }],
    ['waiting', renderWaiting, function (s) { return s.waiting; }],
    ['recent', renderRecent, function (s) { return s.recent; }],
    ['groups', renderGroups, function (s) { return [s.groups, s.daemons]; }]
  ];

  function apply(s) {
    if (!s || s.schema !== 1) return;
    skew = Date.parse(s.generatedAt) - Date.now();
    if (s.instance !== instance) {
      if (instance !== null) notice('The dispatcher restarted; showing the new process.');
      instance = s.instance;
      rendered = { first: true };
      seenRows = {};
    }
    document.documentElement.dataset.instance = s.instance;
    current = s;
    sections.forEach(function (section) {
      var key = JSON.stringify(section[2](s));
      if (rendered[section[0]] === key) return;
      section[1](s);
      rendered[section[0]] = key;
    });
    rendered.first = false;
    settleSeen();
  }

  function logLine(entry) {
    var div = el('div', 'line lvl-' + entry.level);
    var time = el('time', '', clock(entry.time));
    time.dateTime = entry.time;
    append(div, time, el('span', 'lvl', entry.level.toUpperCase()), entry.tag ? el('span', 'tag', '[' + entry.tag + ']') : null, el('span', 'msg', entry.message));
    return div;
  }
  function appendLog(lines) {
    var box = $('log');
    var follow = box.scrollHeight - box.scrollTop - box.clientHeight < 48;
    var fragment = document.createDocumentFragment();
    var start = Math.max(0, lines.length - LOG_LIMIT);
    for (var i = start; i < lines.length; i++) {
      if (lines[i].seq <= lastSeq) continue;
      lastSeq = lines[i].seq;
      fragment.appendChild(logLine(lines[i]));
    }
    box.appendChild(fragment);
    var extra = box.childElementCount - LOG_LIMIT;
    while (extra-- > 0) box.removeChild(box.firstElementChild);
    $('log-count').textContent = box.childElementCount ? box.childElementCount + ' lines' : '';
    if (follow) box.scrollTop = box.scrollHeight;
  }
  function resetLog(lines) {
    $('log').replaceChildren();
    lastSeq = 0;
    appendLog(lines || []);
    var box = $('log');
    box.scrollTop = box.scrollHeight;
  }

  var noticeTimer = 0;
  function notice(text) {
    var banner = $('banner');
    banner.className = 'banner info';
    banner.textContent = text;
    banner.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { if (!signedOut) banner.hidden = true; }, 8000);
  }
  var CONN_TEXT = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', polling: 'stream down · refreshing every 5s', offline: 'daemon unreachable', 'signed-out': 'signed out' };
  function setConn(state) {
    var conn = $('conn');
    if (conn.dataset.state === state) return;
    conn.dataset.state = state;
    conn.textContent = CONN_TEXT[state] || state;
  }
  function streamOpen() { return source !== null && source.readyState === 1; }

  function showSignedOut() {
    signedOut = true;
    stopPolling();
    clearTimeout(reconnectTimer);
    if (source) source.close();
    source = null;
    setConn('signed-out');
    var banner = $('banner');
    banner.className = 'banner';
    banner.textContent = 'Your session is not valid (a new operator token?). Open this page once as /?token=<operator token> to sign in again.';
    banner.hidden = false;
  }

  function poll() {
    fetch('/api/v1/state', { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) { showSignedOut(); return null; }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (doc) {
        if (!doc || streamOpen()) return;
        setConn('polling');
        apply(doc);
        resetLog(doc.log);
        if (source === null) connect();
      })
      .catch(function () { if (!streamOpen()) setConn('offline'); });
  }
  function startPolling() {
    if (pollTimer || signedOut) return;
    pollTimer = setInterval(poll, POLL_MS);
    poll();
  }
  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = 0;
  }

  function connect() {
    if (signedOut) return;
    clearTimeout(reconnectTimer);
    if (source) source.close();
    var stream = new EventSource('/events');
    source = stream;
    stream.addEventListener('open', function () {
      if (source !== stream) return;
      failures = 0;
      stopPolling();
      setConn('live');
    });
    stream.addEventListener('snapshot', function (event) {
      if (source !== stream) return;
      setConn('live');
      apply(JSON.parse(event.data));
    });
    stream.addEventListener('log', function (event) {
      if (source !== stream) return;
      var data = JSON.parse(event.data);
      if (data.reset) resetLog(data.lines);
      else appendLog(data.lines);
    });
    stream.addEventListener('error', function () {
      if (source !== stream) return;
      failures++;
      startPolling();
      if (stream.readyState === 2) {
        // The browser gave up on this stream (an error answer, a proxy): poll, and try again later.
        stream.close();
        source = null;
        reconnectTimer = setTimeout(connect, Math.min(10000, 1000 * Math.pow(2, Math.min(failures, 4))));
      } else {
        setConn('reconnecting');
      }
    });
  }

  function start() {
    setInterval(tick, 1000);
    if (typeof EventSource === 'function') connect();
    else startPolling();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;
