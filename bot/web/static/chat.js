// The web chat's script: sends without reloading, plays audio when asked, remembers looks.
// The page works without it: every form posts to the server and the server renders the page.
(function () {
  "use strict";

  var body = document.body;
  var words = body.dataset;
  var maxChars = parseInt(words.maxChars, 10) || 2000;
  var LOOKS = ["large", "contrast"];
  var LOOKS_KEY = "coproduce-looks";
  var compose = document.getElementById("compose");
  var controls = document.getElementById("controls");
  var textbox = document.getElementById("message");
  var messages = document.getElementById("messages");
  var notice = document.getElementById("notice");
  var noticeListen = document.getElementById("notice-listen");
  var status = document.getElementById("status");
  var log = document.getElementById("log");
  var busy = false;
  var pending = null;   // what is being sent: {item, typed, text, button}

  function field(name) {
    return compose.querySelector("input[name='" + name + "']");
  }

  // Messages and notices --------------------------------------------------------------

  // A notice can be heard like every message: its Listen button sits just after it, outside
  // the alert, so the alert says only the notice. audio: its address (none for some notices).
  function showNotice(text, audio) {
    if (playing && noticeListen.contains(playing.button)) {
      stopPlaying();
    }
    notice.textContent = "";
    noticeListen.textContent = "";
    if (text) {
      var paragraph = document.createElement("p");
      paragraph.id = "notice-text";
      paragraph.textContent = text;
      notice.appendChild(paragraph);
    }
    if (text && audio) {
      noticeListen.appendChild(listenButton("notice-text", audio));
    }
  }

  // The notices the script shows by itself, read aloud by the server (see NOTICES there).
  function noticeAudio(name) {
    return "/audio/words/" + name + ".mp3";
  }

  // The notice describes the box while it is about the words in it; only "too long" or no
  // words at all make the box invalid (a resting server is nobody's mistake).
  function markTextbox(described, invalid) {
    textbox.setAttribute("aria-describedby", described ? "message-hint notice" : "message-hint");
    if (invalid) {
      textbox.setAttribute("aria-invalid", "true");
    } else {
      textbox.removeAttribute("aria-invalid");
    }
  }

  function listenButton(describedBy, url) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "listen";
    button.dataset.audio = url;
    button.setAttribute("aria-describedby", describedBy);
    button.textContent = words.listen;
    return button;
  }

  // A real link with `download`, so saving the file needs no script at all.
  function fileLink(id, file) {
    var link = document.createElement("a");
    link.className = "file";
    link.href = file.url;
    link.download = file.filename;
    link.setAttribute("aria-describedby", "t-" + id);
    link.textContent = words.saveFile;
    return link;
  }

  // The buttons are a group named by the message they answer: focus moves to the first one
  // when a reply comes, and a screen reader then says the question too, not only "Yes".
  function choicesForm(id, choices, turn) {
    var form = document.createElement("form");
    form.className = "choices";
    form.setAttribute("role", "group");
    form.setAttribute("aria-labelledby", "t-" + id);
    form.method = "post";
    form.action = "/send";
    form.dataset.turn = turn || "";
    choices.forEach(function (choice) {
      var button = document.createElement("button");
      button.type = "submit";
      button.name = "payload";
      button.value = choice.payload;
      button.textContent = choice.title;
      form.appendChild(button);
    });
    return form;
  }

  function messageItem(entry) {
    var item = document.createElement("li");
    item.className = "message from-" + entry.speaker;
    item.id = "m-" + entry.id;
    item.dataset.id = entry.id;
    var speaker = document.createElement("p");
    speaker.className = "speaker";
    speaker.textContent = entry.speaker === "helper" ? words.helper : words.you;
    var text = document.createElement("p");
    text.className = "text";
    text.id = "t-" + entry.id;
    text.textContent = entry.text;   // never innerHTML: a participant's words stay words
    item.appendChild(speaker);
    item.appendChild(text);
    if (entry.audio) {
      item.appendChild(listenButton("t-" + entry.id, entry.audio));
    }
    if (entry.file) {
      item.appendChild(fileLink(entry.id, entry.file));
    }
    if (entry.choices && entry.choices.length) {
      item.appendChild(choicesForm(entry.id, entry.choices, entry.turn));
    }
    return item;
  }

  function addEntries(entries) {
    if (!entries.length) {
      return;
    }
    messages.querySelectorAll(".choices").forEach(function (old) { old.remove(); });
    var items = entries.map(messageItem);
    items.forEach(function (item) { messages.appendChild(item); });
    var focused = messages.querySelector(".choices button") || textbox;
    focused.focus({preventScroll: true});
    // The first new message at the top, unless that hides the control with focus: the
    // focused control is always on screen (WCAG 2.4.11), the messages above it a scroll away.
    items[0].scrollIntoView({block: "start"});
    focused.scrollIntoView({block: "nearest"});
  }

  // Sending ------------------------------------------------------------------------------

  // "Sending. Please wait." in the status line, announced; set again if they press again.
  var statusTimer = null;

  function showStatus(text) {
    // Emptied first and filled a moment later, so saying it again is announced again.
    window.clearTimeout(statusTimer);
    status.textContent = "";
    if (text) {
      statusTimer = window.setTimeout(function () { status.textContent = text; }, 50);
    }
  }

  // While a message is on its way, every button says it cannot be pressed (aria-disabled, so
  // the one with focus keeps it) and the log is busy; the box keeps its place but not its words.
  function setBusy(on) {
    busy = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    document.querySelectorAll(".choices button, #controls button, #compose .send")
      .forEach(function (button) {
        if (on) {
          button.setAttribute("aria-disabled", "true");
        } else {
          button.removeAttribute("aria-disabled");
        }
      });
    textbox.readOnly = on;
    showStatus(on ? words.sending : "");
  }

  // What they wrote or pressed shows at once as their message, until the reply replaces it.
  function startSending(said, typed, button) {
    var item = messageItem({id: "sending", speaker: "you", text: said});
    item.classList.add("sending");
    messages.appendChild(item);
    item.scrollIntoView({block: "nearest"});
    pending = {item: item, typed: typed, text: typed ? textbox.value : "", button: button};
    if (typed) {
      textbox.value = "";
    }
    showNotice("");
    setBusy(true);
  }

  // The reply came (or did not): their message goes, the buttons work again; on failure the
  // words they typed go back in the box.
  function stopSending(failed) {
    var was = pending;
    pending = null;
    setBusy(false);
    if (!was) {
      return;
    }
    was.item.remove();
    if (failed && was.typed && !textbox.value) {
      textbox.value = was.text;
    }
    if (failed) {
      var back = was.typed ? textbox : was.button;
      if (back && document.body.contains(back)) {
        back.focus();
      }
    }
  }

  function send(fields, said, typed, button) {
    if (busy) {
      showStatus(words.sending);   // a second press is not lost in silence
      return;
    }
    startSending(said, typed, button);
    var data = new URLSearchParams(fields);
    data.set("message_id", field("message_id").value);
    fetch("/send", {
      method: "POST",
      credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": field("csrf").value},
      body: data
    }).then(function (response) {
      return response.json();
    }).then(function (reply) {
      document.querySelectorAll("input[name='csrf']").forEach(function (input) {
        input.value = reply.csrf;
      });
      document.querySelectorAll("input[name='message_id']").forEach(function (input) {
        input.value = reply.message_id;
      });
      field("turn").value = reply.turn;  // typed words say which exchange the page shows
      if (reply.stale) {
        // Another tab or an old page moved the chat on: show the chat as it is now.
        window.location.assign("/?old=1");  // no #latest: the way on gets focus and is shown
        return;
      }
      stopSending(!reply.ok);
      showNotice(reply.notice, reply.notice_audio);
      markTextbox(!reply.ok && typed,
                  reply.notice === words.tooLong || reply.notice === words.noWords);
      if (reply.erased) {
        // The participant's words were deleted: nothing of them stays on the screen.
        stopPlaying();
        messages.textContent = "";
      }
      addEntries(reply.entries || []);
      if (!reply.ok && typed) {
        textbox.focus();
      }
    }).catch(function () {
      stopSending(true);
      showNotice(words.sendFailed, noticeAudio("send_failed"));
    });
  }

  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) {
      showStatus(words.sending);
      return;
    }
    var text = textbox.value.trim();
    if (!text) {
      showNotice(words.noWords, noticeAudio("no_words"));
      markTextbox(true, true);
      textbox.focus();
      return;
    }
    if (Array.from(text).length > maxChars) {
      showNotice(words.tooLong, noticeAudio("too_long"));
      markTextbox(true, true);
      textbox.focus();
      return;
    }
    send({text: text, turn: field("turn").value}, text, true, null);
  });

  textbox.addEventListener("keydown", function (event) {
    // Enter sends; Shift and Enter starts a new line.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });

  messages.addEventListener("submit", function (event) {
    if (!event.target.classList.contains("choices")) {
      return;
    }
    event.preventDefault();
    var button = event.submitter;
    if (button && button.name === "payload") {
      var turn = event.target.dataset.turn ||
        (event.target.querySelector("input[name='turn']") || {}).value || "";
      send({payload: button.value, turn: turn}, button.textContent, false, button);
    }
  });

  // The page's own buttons (Help, Say that again ...) work at every step: no turn to check.
  controls.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter;
    if (button && button.name === "control") {
      send({control: button.value}, button.textContent, false, button);
    }
  });

  // Listening: audio only ever plays when the participant presses Listen. ---------------

  var playing = null;

  function stopPlaying() {
    if (playing) {
      playing.audio.pause();
      playing.audio.currentTime = 0;
      playing.button.textContent = words.listen;
      playing.button.classList.remove("playing");
      playing = null;
    }
  }

  function audioFor(button) {
    var audio = button.parentNode.querySelector("audio");
    if (!audio) {
      audio = document.createElement("audio");
      audio.preload = "none";
      audio.src = button.dataset.audio;
      button.parentNode.insertBefore(audio, button.nextSibling);
    }
    return audio;
  }

  function listen(event) {
    var button = event.target.closest(".listen");
    if (!button) {
      return;
    }
    event.preventDefault();
    if (playing && playing.button === button) {
      stopPlaying();
      return;
    }
    stopPlaying();
    var audio = audioFor(button);
    playing = {audio: audio, button: button};
    button.textContent = words.stopListening;
    button.classList.add("playing");
    audio.onended = stopPlaying;
    audio.play().catch(function () {
      stopPlaying();
      showNotice(words.audioFailed);
    });
  }

  messages.addEventListener("click", listen);
  noticeListen.addEventListener("click", listen);

  // Links to the MP3 work without the script; with it they become Listen buttons.
  document.querySelectorAll("a.listen").forEach(function (link) {
    link.replaceWith(listenButton(link.getAttribute("aria-describedby"), link.getAttribute("href")));
  });

  // Page looks: bigger text and yellow on black, remembered on this device. ---------------

  function currentLooks() {
    return LOOKS.filter(function (look) {
      return document.documentElement.classList.contains(look);
    });
  }

  function applyLooks(looks) {
    LOOKS.forEach(function (look) {
      var on = looks.indexOf(look) >= 0;
      document.documentElement.classList.toggle(look, on);
      var button = document.querySelector(".looks button[value='" + look + "']");
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
    try {
      localStorage.setItem(LOOKS_KEY, looks.join("."));
    } catch (error) { /* private browsing: the cookie still remembers */ }
    document.cookie = "coproduce_looks=" + (looks.join(".") || "none") +
      "; path=/; max-age=34560000; samesite=lax";
  }

  document.querySelector(".looks").addEventListener("submit", function (event) {
    event.preventDefault();
    var look = event.submitter && event.submitter.value;
    var looks = currentLooks();
    looks = looks.indexOf(look) >= 0 ?
      looks.filter(function (other) { return other !== look; }) : looks.concat([look]);
    applyLooks(looks);
  });

  // Back here after an old button was refused (another tab moved the chat on): the page
  // is the chat as it is now, and the way on gets focus, as after any reply.
  if (/[?&]old=1(&|$)/.test(window.location.search)) {
    // The notice is for this visit only: loading the page again must not say it again.
    window.history.replaceState(null, "", "/");
    var wayOn = messages.querySelector(".choices button") || textbox;
    wayOn.focus({preventScroll: true});
    wayOn.scrollIntoView({block: "nearest"});
  }

  try {
    var saved = localStorage.getItem(LOOKS_KEY);
    if (saved !== null && saved !== currentLooks().join(".")) {
      applyLooks(saved.split(".").filter(function (look) { return LOOKS.indexOf(look) >= 0; }));
    }
  } catch (error) { /* no storage: the server's cookie already set the looks */ }
}());
