DROP TABLE held_forms;
