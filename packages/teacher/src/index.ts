export {
  loadTeacher,
  TEACHER_CHIP,
  TEACHER_DIM,
  LANDMARK_INPUT,
  LFW_CENTRE_BOX,
  type TeacherNets,
} from './face-api-teacher.ts';
