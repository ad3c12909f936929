//! Local stack: moto resources created from template.yaml, the simulator, demo seller and the main job run locally.
