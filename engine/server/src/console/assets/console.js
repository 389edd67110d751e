// Shutter's console: live updates and the buttons. The pages work without
// it (links, the filter form); it adds what HTML cannot: following an
// execution as it runs, and cancel/retry, which are JSON POSTs to the API
// (the cross-site layer accepts nothing else). Same-origin fetches only;
// no value ever goes into innerHTML but the server's own escaped pages.
'use strict';

(function () {
  // The server's icon for each state (one table, in Rust: badge.rs).
  const ICONS = JSON.parse(document.body.dataset.stateIcons || '{}');
  const ENDED = new Set(['succeeded', 'succeeded_with_errors', 'failed', 'canceled']);
  const RETRYABLE = new Set(['failed', 'canceled', 'succeeded_with_errors']);
  const STEP_ENDED = new Set(['succeeded', 'failed', 'skipped', 'canceled', 'compensated']);
  const notice = document.getElementById('notice');

  function say(text, isError, link) {
    if (!notice) return;
    notice.textContent = text;
    if (link) {
      const a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      notice.append(' ', a);
    }
    notice.classList.toggle('error', Boolean(isError));
    notice.hidden = false;
  }

  function signedOut() {
    const next = encodeURIComponent(location.pathname);
    say('You are not signed in (the server answered 401).', true,
      { href: '/ui/sign-in?next=' + next, text: 'Sign in' });
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function label(state) {
    return state.replace(/_/g, ' ');
  }

  function setStateClass(el, state) {
    if (!el) return;
    for (const name of Array.from(el.classList)) {
      if (name.startsWith('state-')) el.classList.remove(name);
    }
    el.classList.add('state-' + state);
  }

  // A `.badge` span: class, icon and word.
  function setBadge(badge, state) {
    if (!badge) return;
    setStateClass(badge, state);
    const icon = badge.querySelector('.icon');
    const word = badge.querySelector('.label');
    if (icon) icon.textContent = ICONS[state] || '?';
    if (word) word.textContent = label(state);
  }

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  // As the server writes times: `2026-11-29 03:00:12Z`.
  function time(iso) {
    return iso ? iso.slice(0, 19).replace('T', ' ') + 'Z' : '';
  }

  function byKey(root, selector, key) {
    return root.querySelector(selector + '[data-step="' + CSS.escape(key) + '"]');
  }

  // ---- One execution -------------------------------------------------

  const execution = document.querySelector('.execution[data-execution-id]');
  let polling = false;

  function showButtons(root, state) {
    for (const button of root.querySelectorAll('button[data-when]')) {
      const when = button.dataset.when;
      const applies = when === 'running' ? !ENDED.has(state)
        : when === 'retryable' ? RETRYABLE.has(state)
          : ENDED.has(state);
      button.hidden = !applies;
    }
  }

  function apply(root, detail) {
    const was = root.dataset.state;
    root.dataset.state = detail.state;
    root.dataset.version = String(detail.version);
    setBadge(root.querySelector('[data-role="execution-state"] .badge'), detail.state);
    const facts = root.querySelector('.facts');
    if (facts) {
      setText(facts.querySelector('[data-role="started"]'), time(detail.started_at));
      setText(facts.querySelector('[data-role="finished"]'), time(detail.finished_at));
    }
    const box = root.querySelector('[data-role="execution-error"]');
    if (box) {
      box.hidden = !detail.error;
      setText(box.querySelector('pre'), detail.error || '');
    }
    showButtons(root, detail.state);

    const items = new Map();
    let unknown = false;
    for (const step of detail.steps) {
      const row = byKey(root, 'tr', step.key);
      if (row) {
        row.dataset.state = step.state;
        const cell = row.querySelector('[data-role="step-state"]');
        setStateClass(cell, step.state);
        setBadge(cell && cell.querySelector('.badge'), step.state);
        setText(row.querySelector('[data-role="tries"]'), String(step.attempts.length));
        setText(row.querySelector('[data-role="started"]'), time(step.started_at));
        setText(row.querySelector('[data-role="error"]'), (step.error || '').slice(0, 160));
      } else if (!root.dataset.partial) {
        // A page that lists some steps only (a large execution) has no
        // row for the others: the graph shows them.
        unknown = true;
      }
      const details = document.getElementById('step-' + step.key);
      if (details) setBadge(details.querySelector('summary .badge'), step.state);
      const item = /^(.*)\[(\d+)\]$/.exec(step.key);
      if (item) {
        const count = items.get(item[1]) || { ended: 0, seen: 0 };
        count.seen += 1;
        if (STEP_ENDED.has(step.state)) count.ended += 1;
        items.set(item[1], count);
        continue;
      }
      const node = byKey(root, 'g.node', step.key);
      if (node) {
        node.setAttribute('class', 'node state-' + step.state);
        setText(node.querySelector('.state-label'), (ICONS[step.state] || '?') + ' ' + label(step.state));
      }
    }
    for (const [id, count] of items) {
      const node = byKey(root, 'g.node', id);
      const link = node && node.querySelector('[data-items]');
      if (!link) continue;
      const total = link.dataset.items || String(count.seen);
      setText(node.querySelector('.items'), ' · ' + count.ended + '/' + total + ' items');
    }
    redrawTimeline(root);
    if (!ENDED.has(was) && ENDED.has(detail.state)) {
      say('The execution ended: ' + label(detail.state) + '.', detail.state !== 'succeeded',
        { href: location.pathname, text: 'Reload for every step\u2019s outputs and errors' });
    } else if (unknown) {
      say('New steps appeared (items of a for_each step).', false,
        { href: location.pathname, text: 'Reload to see them' });
    }
  }

  // The timeline is drawn by the server (`data-src`, a few KB): fetched
  // again when the execution changes and, while it runs, every few
  // seconds (a running try's bar grows with time). One fetch at a time;
  // a change during a fetch asks for one more after it.
  let timelineBusy = false;
  let timelineAgain = false;
  let timelineDrawn = null;
  let timelineTicking = false;
  // Set when asking again is pointless: signed out, or the execution gone.
  let timelineStopped = false;

  async function redrawTimeline(root) {
    const box = root.querySelector('[data-role="timeline"][data-src]');
    if (!box || timelineStopped) return;
    if (timelineBusy) {
      timelineAgain = true;
      return;
    }
    timelineBusy = true;
    try {
      do {
        timelineAgain = false;
        const response = await fetch(box.dataset.src, { cache: 'no-store', credentials: 'same-origin' });
        // Without a session, a page is answered by a redirect to the
        // sign-in form, which fetch follows: never draw that here.
        if (response.status === 401
          || (response.redirected && new URL(response.url).pathname === '/ui/sign-in')) {
          timelineStopped = true;
          signedOut();
          return;
        }
        if (!response.ok) {
          // A refusal (the execution gone) will not change; a server
          // error might, at the next tick.
          if (response.status < 500) timelineStopped = true;
          return;
        }
        const html = await response.text();
        if (html !== timelineDrawn) {
          box.innerHTML = html;
          timelineDrawn = html;
        }
      } while (timelineAgain);
    } catch (err) {
      // Unreachable for now: the next change or tick tries again.
    } finally {
      timelineBusy = false;
    }
  }

  function tickTimeline(root) {
    if (timelineTicking) return;
    timelineTicking = true;
    const timer = setInterval(() => {
      if (timelineStopped || ENDED.has(root.dataset.state)) {
        clearInterval(timer);
        timelineTicking = false;
        return;
      }
      if (!document.hidden) redrawTimeline(root);
    }, 3000);
  }

  // Long polls `GET /executions/{id}?wait=` with the version the page
  // shows as `If-None-Match`: the server answers when it changes (304
  // when the wait ran out), and once the execution has ended, polling stops.
  async function follow(root) {
    if (polling) return;
    polling = true;
    let failures = 0;
    try {
      while (!ENDED.has(root.dataset.state)) {
        const headers = { 'If-None-Match': '"v' + root.dataset.version + '"' };
        let response;
        try {
          response = await fetch('/executions/' + encodeURIComponent(root.dataset.executionId) + '?wait=30s',
            { headers, cache: 'no-store', credentials: 'same-origin' });
        } catch (err) {
          response = null;
        }
        if (response && response.status === 401) {
          timelineStopped = true;
          signedOut();
          return;
        }
        if (response && response.status === 304) {
          failures = 0;
          continue;
        }
        if (!response || !response.ok) {
          failures += 1;
          await sleep(Math.min(30000, 500 * 2 ** failures));
          continue;
        }
        failures = 0;
        apply(root, await response.json());
      }
    } finally {
      polling = false;
    }
  }

  async function act(button) {
    const root = execution;
    const action = button.dataset.action;
    const from = button.dataset.from;
    const question = action === 'cancel'
      ? 'Cancel this execution? Running steps stop; finally steps still run.'
      : from
        ? 'Retry from step \u201c' + from + '\u201d? It and every step after it run again.'
        : 'Retry this execution? The steps that did not succeed run again.';
    if (!window.confirm(question)) return;
    button.disabled = true;
    try {
      const response = await fetch(
        '/executions/' + encodeURIComponent(root.dataset.executionId) + '/' + action,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(from ? { from } : {}),
          cache: 'no-store',
          credentials: 'same-origin',
        });
      if (response.status === 401) {
        signedOut();
        return;
      }
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        const message = body && body.error && body.error.message;
        say(message || 'The server answered ' + response.status + '.', true);
        return;
      }
      if (action === 'retry') {
        // The execution runs again: follow it from its next version.
        root.dataset.state = 'running';
        showButtons(root, 'running');
        say(from ? 'Retrying from ' + from + '.' : 'Retrying.', false);
        tickTimeline(root);
      } else {
        say('Cancel requested: running steps are being stopped.', false);
      }
      follow(root);
    } catch (err) {
      say('The server could not be reached.', true);
    } finally {
      button.disabled = false;
    }
  }

  // ---- A step's logs ----------------------------------------------------

  // Read when its panel opens, then followed (every 2 s) while the panel
  // is open and the step has not ended. Lines are text nodes: a log line
  // is whatever a step wrote, never markup.
  function stepState(details) {
    const row = byKey(document, 'tr', details.dataset.step);
    return row ? row.dataset.state : '';
  }

  async function readLogs(details) {
    const pre = details.querySelector('[data-role="logs"]');
    if (!pre || pre.dataset.reading) return;
    pre.dataset.reading = '1';
    try {
      for (;;) {
        const after = pre.dataset.after || '0';
        const response = await fetch(pre.dataset.src + '?after=' + encodeURIComponent(after),
          { cache: 'no-store', credentials: 'same-origin' });
        if (response.status === 401) {
          signedOut();
          return;
        }
        if (response.ok) {
          const page = await response.json();
          // The placeholder goes at the first answer, "none yet" at the
          // first line.
          if (!pre.dataset.after || (pre.dataset.empty && page.lines.length)) {
            pre.textContent = '';
            delete pre.dataset.empty;
          }
          pre.dataset.after = pre.dataset.after || '0';
          for (const line of page.lines) {
            pre.append(time(line.at).slice(11) + ' ' + line.level.toUpperCase().padEnd(5)
              + ' [try ' + line.attempt + '] ' + line.message + '\n');
            pre.dataset.after = String(line.seq);
          }
          if (!pre.textContent) {
            pre.textContent = 'No log lines yet.\n';
            pre.dataset.empty = '1';
          }
          if (page.next_after) continue;
        }
        if (!details.open || STEP_ENDED.has(stepState(details))) return;
        await sleep(2000);
      }
    } finally {
      delete pre.dataset.reading;
    }
  }

  // A link to `#step-ID` (a graph node, a row) opens that step's details.
  // On a page that lists some steps only, a step not listed is on the
  // page that lists them all.
  function openTarget() {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id ? document.getElementById(id) : null;
    if (target && target.tagName === 'DETAILS') {
      target.open = true;
    } else if (id.startsWith('step-') && execution && execution.dataset.partial) {
      location.replace(location.pathname + '?steps=all' + location.hash);
    }
  }

  if (execution) {
    for (const details of execution.querySelectorAll('details.step')) {
      details.addEventListener('toggle', () => {
        if (details.open) readLogs(details);
      });
    }
    window.addEventListener('hashchange', openTarget);
    openTarget();
    document.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (button) act(button);
    });
    follow(execution);
    if (!ENDED.has(execution.dataset.state)) tickTimeline(execution);
  }

  // ---- A workflow: start it, or ask for its plan ---------------------

  // Each field read as its declared type; an empty optional field is left
  // out (the workflow's default applies).
  function inputsOf(form) {
    const inputs = {};
    for (const field of form.querySelectorAll('[data-input]')) {
      const type = field.dataset.type;
      if (type === 'boolean' && field.type === 'checkbox') {
        inputs[field.dataset.input] = field.checked;
        continue;
      }
      const text = field.value;
      if (text === '' && !field.required) continue;
      if (type === 'integer' || type === 'number') {
        inputs[field.dataset.input] = Number(text);
      } else if ((type === 'array' || type === 'object') && field.tagName === 'TEXTAREA') {
        inputs[field.dataset.input] = JSON.parse(text);
      } else {
        inputs[field.dataset.input] = text;
      }
    }
    return inputs;
  }

  async function send(form, what) {
    const workflow = form.dataset.workflow;
    let inputs;
    try {
      inputs = inputsOf(form);
    } catch (err) {
      say('An input is not valid JSON: ' + err.message, true);
      return;
    }
    const route = what === 'plan' ? '/plan' : '/executions';
    let response;
    try {
      response = await fetch('/workflows/' + encodeURIComponent(workflow) + route, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ inputs }),
        cache: 'no-store',
        credentials: 'same-origin',
      });
    } catch (err) {
      say('The server could not be reached.', true);
      return;
    }
    if (response.status === 401) {
      signedOut();
      return;
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = body && body.error;
      const details = error && Array.isArray(error.details) ? ' ' + error.details.join('; ') : '';
      say((error && error.message ? error.message : 'The server answered ' + response.status + '.') + details, true);
      return;
    }
    if (what === 'start') {
      location.href = '/ui/executions/' + encodeURIComponent(body.id);
      return;
    }
    // The plan, as text: what each step would do.
    const out = document.querySelector('[data-role="plan"]');
    const lines = [`${body.writes} change(s) a run would make, ${body.reads} read(s) run now.`];
    if (body.problem) lines.push('Problem: ' + body.problem);
    for (const [id, step] of Object.entries(body.steps)) {
      lines.push(`${id}: ${step.forecast.replace(/_/g, ' ')} (${step.effect}, ${step.action})`
        + (step.reason ? ' — ' + step.reason : ''));
      for (const call of step.calls || []) {
        lines.push('    ' + JSON.stringify(call.params));
      }
    }
    out.textContent = lines.join('\n');
    out.hidden = false;
  }

  const start = document.querySelector('form.start[data-workflow]');
  if (start) {
    start.addEventListener('submit', (event) => {
      event.preventDefault();
      send(start, 'start');
    });
    const plan = start.querySelector('button[data-action="plan"]');
    if (plan) plan.addEventListener('click', () => send(start, 'plan'));
  }

  // ---- The executions list ---------------------------------------------

  // The API's page for the same filters, long-polled: the server holds the
  // request until that page differs from the one we hold (its ETag), at
  // most 30 s. When its executions or their versions differ from the rows
  // shown, the table is fetched again (the server's HTML) and swapped in.
  const live = document.getElementById('live');

  function rows(container) {
    return Array.from(container.querySelectorAll('tr[data-execution-id]'))
      .map((row) => row.dataset.executionId + ':' + row.dataset.version).join(',');
  }

  // Reads this page again and swaps its live region when it differs;
  // answers the response's status.
  async function refresh(container) {
    const response = await fetch(location.href, { cache: 'no-store', credentials: 'same-origin' });
    // A page asked for without a session is sent to the sign-in form.
    if (response.redirected && new URL(response.url).pathname === '/ui/sign-in') return 401;
    if (!response.ok) return response.status;
    const page = new DOMParser().parseFromString(await response.text(), 'text/html');
    const fresh = page.getElementById('live');
    if (!fresh || fresh.innerHTML === container.innerHTML) return response.status;
    // Keep the keyboard where it was, if the same link is still there.
    const focused = container.contains(document.activeElement)
      ? document.activeElement.getAttribute('href') : null;
    container.innerHTML = fresh.innerHTML;
    if (focused) {
      const again = container.querySelector('a[href="' + CSS.escape(focused) + '"]');
      if (again) again.focus();
    }
    return response.status;
  }

  async function watchList(container) {
    const source = new URL(container.dataset.source, location.href);
    source.searchParams.set('wait', '30s');
    let etag = null;
    for (;;) {
      if (document.hidden) {
        await sleep(2000);
        continue;
      }
      try {
        const headers = etag ? { 'If-None-Match': etag } : {};
        const began = Date.now();
        const response = await fetch(source,
          { headers, cache: 'no-store', credentials: 'same-origin' });
        if (response.status === 401) {
          signedOut();
          return;
        }
        if (response.status === 304) {
          // A server that holds no request (or is stopping) must not be
          // asked again at once, forever.
          if (Date.now() - began < 1000) await sleep(1000);
          continue;
        }
        if (response.status !== 200) {
          await sleep(5000);
          continue;
        }
        etag = response.headers.get('ETag');
        const page = await response.json();
        const now = page.items.map((item) => item.id + ':' + item.version).join(',');
        if (now !== rows(container)) await refresh(container);
      } catch (err) {
        // Unreachable for now: try again a little later.
        await sleep(5000);
      }
    }
  }

  // A page with no long poll of its own (backups, nodes) is read again
  // every `data-refresh-every` seconds while it is in view; its region is
  // swapped when it differs.
  async function refreshEvery(container, seconds) {
    for (;;) {
      await sleep(seconds * 1000);
      if (document.hidden) continue;
      try {
        if (await refresh(container) === 401) {
          signedOut();
          return;
        }
      } catch (err) {
        // Unreachable for now: try again at the next tick.
      }
    }
  }

  if (live && live.dataset.source) watchList(live);
  else if (live && live.dataset.refreshEvery) refreshEvery(live, Number(live.dataset.refreshEvery) || 10);
})();
