"""The device daemon (``looksay run``) and the commands that talk to it.

``commands`` registers the sub-commands and imports nothing heavy; ``daemon`` wires the
buttons, sounds, LEDs, camera and remote models together; ``control`` is the Unix socket
the ``press``/``status``/``say``/``volume`` commands use over SSH.
"""
