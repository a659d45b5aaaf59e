"""Oral morphine equivalent (OME): conversion-factor tables and profiles."""
