"""Probes as an attacker and a careless user would send them: each class of hostile input
or abuse has tests here, and a fuzz pass runs over every parser."""
