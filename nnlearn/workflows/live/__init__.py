"""`nnlearn watch CONFIG --serve`: a live page of the training, in the browser, where the config can be edited.

- session: the watcher and the server together, started and stopped as one (Ctrl-C)
- server: the HTTP server (the standard library's), its token check and its JSON API
- state: what the page shows, kept by the watcher's progress reporter and read by the server's threads
- pictures: the numbers behind the model's pictures while it trains (boundary, units, predicted against true)
- edits: the page's controls as edits of the YAML text at the value's own line
- saving: a page's text saved into the config only when valid, atomically
- page/: index.html, app.js and style.css, the page itself (nothing loaded from elsewhere)

Other nnlearn modules used: watch, training's progress protocol, config_file, yaml_source, validation,
diagnose, inside, task, jsonout, display (print_wrapped), process and errors.
"""
